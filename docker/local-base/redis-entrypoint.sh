#!/bin/sh
set -e
case "$1" in -*) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ]; then set -- "$@" --protected-mode no; fi
exec "$@"
