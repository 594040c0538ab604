#!/bin/sh
# Container image: packages must not start services while being installed.
exit 101
