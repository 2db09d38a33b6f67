// Builds nerdctl's command from its published module. nerdctl's own go.mod
// replaces its test-only tigron module with a local path, which `go install
// pkg@version` refuses, and the proxy does not serve tigron. Requiring nerdctl
// from here and pointing tigron at a one-interface stub (the only part a
// linked test helper names) builds the unchanged command.
module nerdctld.local/engine/nerdctl

go 1.26.3

require github.com/containerd/nerdctl/v2 v2.3.5

replace github.com/containerd/nerdctl/mod/tigron => ./tigron-stub
