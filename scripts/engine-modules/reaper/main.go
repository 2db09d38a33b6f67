// A reaper speaking Ryuk's protocol, for the e2e suites: Testcontainers starts
// it as its Ryuk image (whose Go module cannot be fetched on the test
// machines). Clients connect on :8080 and send filters, one a line, each
// answered "ACK"; once the last client has been gone for
// RYUK_RECONNECTION_TIMEOUT (or none came within RYUK_CONNECTION_TIMEOUT), it
// removes every container, network, volume and image the filters match,
// through the Docker API on /var/run/docker.sock, and exits.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

const socket = "/var/run/docker.sock"

// docker is a minimal Docker API client over the unix socket, at the version the daemon announces.
type docker struct {
	http    *http.Client
	version string
}

func newDocker() *docker {
	transport := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}
	return &docker{http: &http.Client{Transport: transport, Timeout: 30 * time.Second}}
}

func (d *docker) call(method, path string, query url.Values, out any) error {
	prefix := ""
	if d.version != "" {
		prefix = "/v" + d.version
	}
	request, err := http.NewRequest(method, "http://docker"+prefix+path+"?"+query.Encode(), nil)
	if err != nil {
		return err
	}
	response, err := d.http.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return err
	}
	if response.StatusCode >= 300 && response.StatusCode != http.StatusNotFound {
		return fmt.Errorf("%s %s: %d %s", method, path, response.StatusCode, strings.TrimSpace(string(body)))
	}
	if out != nil && response.StatusCode < 300 {
		return json.Unmarshal(body, out)
	}
	return nil
}

// ping takes the API version the daemon speaks, as Docker's Go client negotiates it.
func (d *docker) ping() error {
	response, err := d.http.Get("http://docker/_ping")
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %d", response.StatusCode)
	}
	d.version = response.Header.Get("Api-Version")
	return nil
}

func duration(name string, fallback time.Duration) time.Duration {
	if value, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return value
	}
	return fallback
}

// reap removes what one filter set names: containers first (with their anonymous volumes), then networks, volumes, images.
func reap(d *docker, filters map[string][]string) {
	encoded, _ := json.Marshal(filters)
	query := url.Values{"filters": {string(encoded)}}
	var containers []struct {
		Id     string
		Labels map[string]string
	}
	if err := d.call("GET", "/containers/json", url.Values{"all": {"1"}, "filters": query["filters"]}, &containers); err != nil {
		log.Printf("list containers: %v", err)
	}
	for _, container := range containers {
		if container.Labels["org.testcontainers.ryuk"] == "true" {
			continue
		}
		if err := d.call("DELETE", "/containers/"+container.Id, url.Values{"force": {"1"}, "v": {"1"}}, nil); err != nil {
			log.Printf("remove container: %v", err)
		} else {
			log.Printf("removed container %s", container.Id)
		}
	}
	var networks []struct{ Id string }
	if err := d.call("GET", "/networks", query, &networks); err != nil {
		log.Printf("list networks: %v", err)
	}
	for _, network := range networks {
		if err := d.call("DELETE", "/networks/"+network.Id, nil, nil); err != nil {
			log.Printf("remove network: %v", err)
		}
	}
	var volumes struct{ Volumes []struct{ Name string } }
	if err := d.call("GET", "/volumes", query, &volumes); err != nil {
		log.Printf("list volumes: %v", err)
	}
	for _, volume := range volumes.Volumes {
		if err := d.call("DELETE", "/volumes/"+volume.Name, url.Values{"force": {"1"}}, nil); err != nil {
			log.Printf("remove volume: %v", err)
		}
	}
	var images []struct{ Id string }
	if err := d.call("GET", "/images/json", query, &images); err != nil {
		log.Printf("list images: %v", err)
	}
	for _, image := range images {
		if err := d.call("DELETE", "/images/"+image.Id, url.Values{"force": {"1"}}, nil); err != nil {
			log.Printf("remove image: %v", err)
		}
	}
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	d := newDocker()
	if err := d.ping(); err != nil {
		log.Fatalf("docker: %v", err)
	}
	listener, err := net.Listen("tcp", ":8080")
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	connected := make(chan struct{})
	disconnected := make(chan struct{})
	received := make(chan map[string][]string)
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			connected <- struct{}{}
			go func() {
				defer func() {
					conn.Close()
					disconnected <- struct{}{}
				}()
				scanner := bufio.NewScanner(conn)
				for scanner.Scan() {
					line := strings.TrimSpace(scanner.Text())
					if line == "" {
						continue
					}
					if query, err := url.ParseQuery(line); err == nil {
						received <- query
					}
					conn.Write([]byte("ACK\n"))
				}
			}()
		}
	}()
	// Testcontainers waits for this line.
	log.Printf("Started listening on %s", listener.Addr())

	var filterSets []map[string][]string
	clients := 0
	timer := time.NewTimer(duration("RYUK_CONNECTION_TIMEOUT", time.Minute))
	for done := false; !done; {
		select {
		case <-connected:
			clients++
			timer.Stop()
		case <-disconnected:
			clients--
			if clients == 0 {
				timer.Reset(duration("RYUK_RECONNECTION_TIMEOUT", 10*time.Second))
			}
		case filters := <-received:
			filterSets = append(filterSets, filters)
		case <-timer.C:
			done = true
		}
	}
	listener.Close()
	for _, filters := range filterSets {
		reap(d, filters)
	}
	log.Printf("done")
}
