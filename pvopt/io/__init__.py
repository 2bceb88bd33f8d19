"""Adapters: the only modules that import paho-mqtt, influxdb or pyserial."""
