// Package setup installs the activity schema into Elasticsearch: the
// component templates, the composable index template for the activity data
// streams and, where the cluster has ILM, the retention policy; where the data
// stream lifecycle carries the retention instead, it also sets that retention
// on the activity data streams that already exist. An existing activity data
// stream whose write index was created from another version of the component
// templates is rolled over, so the records written from then on get the
// installed mappings and settings (a template reaches only the backing
// indices created after it); this needs the manage index privilege on the
// activity data streams. A backing index that a stream created before setup
// ran got from the built-in templates (whose ILM policy "logs" never deletes)
// is brought under the installed retention: with ILM it is given the
// retention policy, where the data stream lifecycle carries the retention it
// is given index.lifecycle.prefer_ilm false. Setup checks first that its user
// may view every activity data stream, since a wildcard lists only those it
// may view.
//
// Install is idempotent. Every object it writes carries a checksum of its
// content in _meta; an object whose checksum already matches is left alone,
// so a second run reports no change and never rewrites cluster state. What
// decides retention, mappings and which template wins (the ILM policy's
// phases, everything the component templates set, the index template's
// patterns, priority, components, lifecycle, and any settings, mappings or
// aliases of its own) is also compared with what Install would write, so an
// object edited by hand with its _meta kept is put back.
package setup
