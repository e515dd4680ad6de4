module knob-example

go 1.19

require knob v0.0.0

// The client lives beside this example; an out-of-tree service points the replace at its
// copy of client/go (or vendors it).
replace knob => ../../go
