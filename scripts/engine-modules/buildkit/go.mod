// Builds buildkitd and buildctl from buildkit's published module. Its go.mod
// carries exclude directives, which `go install pkg@version` refuses, so the
// programs are built from this module, which repeats those excludes.
module nerdctld.local/engine/buildkit

go 1.26

require github.com/moby/buildkit v0.31.2

exclude (
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc
	github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2
)
