module nerdctld.test/reaper

go 1.23
