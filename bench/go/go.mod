module deftbench

go 1.19
