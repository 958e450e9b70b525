module cwatch/go-offsets

go 1.19
