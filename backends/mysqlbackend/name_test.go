package mysqlbackend_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

func ExampleBackend_Name() {
	b := mysqlbackend.New(mysqlbackend.Options{DSN: "app:s3cret@tcp(db.internal:3306)/shop?parseTime=true"})
	fmt.Println(b.Name())
	// Output:
	// mysql://db.internal:3306/shop
}

func TestNameNamesServerAndDatabaseWithoutCredentials(t *testing.T) {
	for dsn, want := range map[string]string{
		"root:p4ss@tcp(127.0.0.1:3306)/app":    "mysql://127.0.0.1:3306/app",
		"root@unix(/run/mysqld.sock)/app":      "mysql+unix:///run/mysqld.sock/app",
		"u:p4ss@tcp(127.0.0.1:3306)/?tls=true": "mysql://127.0.0.1:3306/",
	} {
		got := mysqlbackend.New(mysqlbackend.Options{DSN: dsn}).Name()
		assert.Equal(t, want, got)
		assert.NotContains(t, got, "p4ss")
	}
	assert.Equal(t, "mysql", mysqlbackend.New(mysqlbackend.Options{DSN: "p4ss"}).Name())
}
