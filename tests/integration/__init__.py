"""Integration tests: real mosquitto, influxd and pvopt subprocesses."""
