// Package burst detects bursts of failed logins: it counts failures per key
// (a client address, a user name, a tenant) in a sliding window and reports
// one alert when a key reaches the threshold, then stays quiet for a
// cooldown so that one burst raises one alert.
//
// Memory is bounded: at most MaxKeys keys are tracked; when a new key arrives
// at the limit the least recently seen key is evicted (and counted). Keys
// whose latest failure is older than a window plus the longer of the window
// and the cooldown are expired first: until then a record that arrives late
// can still count with them; a key that remembers a failure dated past the
// clock when it was counted is kept until that failure's own time is a window
// old, so that its record, resent, counts once. Each key costs at most about
// BytesPerKey(threshold) bytes.
package burst
