module roomgate/tests/bench/delayproxy

go 1.22
