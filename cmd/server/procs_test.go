package main

import "testing"

func TestNextProcs(t *testing.T) {
	tests := []struct {
		name    string
		current int
		cores   float64
		want    int
	}{
		{"idle stays narrow", 1, 0.05, 1},
		{"busy single thread widens", 1, 0.80, 4},
		{"between the marks stays narrow", 1, 0.60, 1},
		{"between the marks stays wide", 4, 0.60, 4},
		{"quiet again narrows", 4, 0.30, 1},
		{"heavy stays wide", 4, 2.50, 4},
	}
	for _, tc := range tests {
		if got := nextProcs(tc.current, 4, tc.cores); got != tc.want {
			t.Errorf("%s: nextProcs(%d, 4, %.2f) = %d, want %d", tc.name, tc.current, tc.cores, got, tc.want)
		}
	}
}
