// Package burst detects bursts of failed logins: it counts failures per key
// (a client address, a user name, a tenant) in a sliding window and reports
// one alert when a key reaches the threshold, then stays quiet for a
// cooldown so that one burst raises one alert.
//
// Memory is bounded: at most MaxKeys keys are tracked; when a new key arrives
// at the limit the least recently seen key is evicted (and counted). Keys
// idle for longer than the window and the cooldown are expired first. Each
// key costs at most about BytesPerKey(threshold) bytes.
package burst
