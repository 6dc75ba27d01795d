#!/bin/sh
# What `make bench` needs: the reference server, memcaslap, nutcracker (the
# scaling rows) and gnuplot (tests/deps.sh installs or names them). gnuplot
# only draws the chart: without it the bench still runs.
sh tests/deps.sh "bench deps" memcached libmemcached-tools nutcracker gnuplot-nox && exit 0
sh tests/deps.sh "bench deps" memcached libmemcached-tools nutcracker
