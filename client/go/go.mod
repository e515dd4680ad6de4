module knob

go 1.19
