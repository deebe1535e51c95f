package node

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// Bounds on the HTTP listener (http.max_header_bytes, http.read_header_timeout, http.idle_timeout) and
// the checks of the limits: section (signaling.Limits). Pure functions; safe for concurrent use.

const (
	// defaultMaxHeaderBytes bounds a request's line and headers: a browser's upgrade with its cookies
	// fits many times over; a request carrying more is answered 431 before any handler runs.
	defaultMaxHeaderBytes = 16 << 10
	// minMaxHeaderBytes: below this, ordinary browser requests with a few cookies would be refused.
	minMaxHeaderBytes = 4096
	// defaultReadHeaderTimeout cuts off a client that dribbles its headers (slowloris).
	defaultReadHeaderTimeout = 10 * time.Second
	// defaultIdleTimeout closes a keep-alive connection that has sent no request for this long.
	defaultIdleTimeout = 120 * time.Second
)

// serverBounds are the http.Server's MaxHeaderBytes, ReadHeaderTimeout and IdleTimeout, a zero field
// taking the default (a zero in http.Server would mean 1 MB, and no timeout at all).
func (h HTTPConfig) serverBounds() (maxHeaderBytes int, readHeaderTimeout, idleTimeout time.Duration) {
	maxHeaderBytes, readHeaderTimeout, idleTimeout = h.MaxHeaderBytes, h.ReadHeaderTimeout, h.IdleTimeout
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = defaultMaxHeaderBytes
	}
	if readHeaderTimeout <= 0 {
		readHeaderTimeout = defaultReadHeaderTimeout
	}
	if idleTimeout <= 0 {
		idleTimeout = defaultIdleTimeout
	}
	return maxHeaderBytes, readHeaderTimeout, idleTimeout
}

// validateLimits checks the HTTP bounds and every number of the limits: section: none may be negative
// (zero takes the default), and http.max_header_bytes, when set, is at least 4096.
func (c *Config) validateLimits() []error {
	var errs []error
	h := c.HTTP
	switch {
	case h.MaxHeaderBytes < 0:
		errs = append(errs, fmt.Errorf("http.max_header_bytes %d is negative", h.MaxHeaderBytes))
	case h.MaxHeaderBytes > 0 && h.MaxHeaderBytes < minMaxHeaderBytes:
		errs = append(errs, fmt.Errorf("http.max_header_bytes %d is below %d: browsers' ordinary requests would be refused",
			h.MaxHeaderBytes, minMaxHeaderBytes))
	}
	if h.ReadHeaderTimeout < 0 {
		errs = append(errs, fmt.Errorf("http.read_header_timeout %s is negative", h.ReadHeaderTimeout))
	}
	if h.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("http.idle_timeout %s is negative", h.IdleTimeout))
	}
	return append(errs, negativeFields("limits", reflect.ValueOf(c.Limits))...)
}

var durationType = reflect.TypeOf(time.Duration(0))

// negativeFields names every negative (or NaN) number in a struct of numbers and structs, by the dotted
// path of its yaml keys: the limits: section checks fields added to signaling.Limits without being told.
func negativeFields(path string, v reflect.Value) []error {
	var errs []error
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			errs = append(errs, negativeFields(path+"."+name, v.Field(i))...)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			if v.Type() == durationType {
				errs = append(errs, fmt.Errorf("%s %s is negative", path, time.Duration(v.Int())))
			} else {
				errs = append(errs, fmt.Errorf("%s %d is negative", path, v.Int()))
			}
		}
	case reflect.Float32, reflect.Float64:
		if x := v.Float(); x < 0 || math.IsNaN(x) {
			errs = append(errs, fmt.Errorf("%s %v is not a non-negative number", path, x))
		}
	}
	return errs
}
