package dashboards_test

import (
	"fmt"

	"github.com/activitylog/activitylog/dashboards"
)

// Count the embedded saved objects by type.
func ExampleObjects() {
	objs, err := dashboards.Objects()
	if err != nil {
		fmt.Println(err)
		return
	}
	count := map[string]int{}
	for _, o := range objs {
		count[o.Type]++
	}
	fmt.Println("dashboards:", count["dashboard"])
	fmt.Println("data views:", count["index-pattern"])
	fmt.Println("saved searches:", count["search"])
	fmt.Println("lens visualizations:", count["lens"])
	// Output:
	// dashboards: 2
	// data views: 1
	// saved searches: 2
	// lens visualizations: 14
}
