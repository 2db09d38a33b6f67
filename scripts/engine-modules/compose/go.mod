// Builds docker compose v2, the CLI plugin the e2e suites drive nerdctld with,
// from its published module. Its go.mod carries exclude directives, which `go
// install pkg@version` refuses, so it is built from this module, which repeats
// those excludes. The required version is the one scripts/install-compose.sh
// installs.
module nerdctld.local/clients/compose

go 1.26

require github.com/docker/compose/v2 v2.40.3

exclude (
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc
	github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2
)
