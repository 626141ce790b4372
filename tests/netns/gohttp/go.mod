module rrtest/gohttp

go 1.19
