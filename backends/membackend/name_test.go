package membackend_test

import (
	"fmt"

	"github.com/actorpool/actorpool/backends/membackend"
)

func ExampleBackend_Name() {
	fmt.Println(membackend.New().Name())
	// Output:
	// mem
}
