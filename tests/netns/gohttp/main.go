// gohttp: a static Go program (CGO_ENABLED=0) for tests/netns/test_seccomp.sh. Go makes its
// own system calls, so only the seccomp path of `rrctl exec` puts its sockets in the router.
//
//	gohttp get URL          the body on stdout (exit 1 on any error or a status other than 200)
//	gohttp serve ADDR DIR   serve DIR over HTTP on ADDR ("[fd42::1]:8080", ":8080")
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		c := &http.Client{Timeout: 20 * time.Second}
		r, err := c.Get(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "gohttp:", err)
			os.Exit(1)
		}
		defer r.Body.Close()
		if r.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, "gohttp: status", r.Status)
			os.Exit(1)
		}
		if _, err := io.Copy(os.Stdout, r.Body); err != nil {
			fmt.Fprintln(os.Stderr, "gohttp:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "serve" {
		ln, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "gohttp:", err)
			os.Exit(1)
		}
		fmt.Println("listening on", ln.Addr())
		err = http.Serve(ln, http.FileServer(http.Dir(os.Args[3])))
		fmt.Fprintln(os.Stderr, "gohttp:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "usage: gohttp get URL | gohttp serve ADDR DIR")
	os.Exit(2)
}
