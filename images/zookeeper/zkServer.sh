#!/bin/bash
# zkServer.sh start-foreground as the official image runs it: the server with
# $ZOO_CONF_DIR/zoo.cfg, logging to the console through $ZOO_CONF_DIR's
# log4j.properties. (Debian's own script reads /etc/zookeeper/conf only.)
# Other commands go to Debian's script.
set -e

if [ "${1:-}" != start-foreground ]; then
	exec /usr/share/zookeeper/bin/zkServer.sh "$@"
fi

conf_dir=${ZOO_CONF_DIR:-/conf}
# zookeeper.jar's manifest names its dependencies; the slf4j binding and
# log4j are what make it log at all.
classpath=$conf_dir:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
exec java ${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} \
	-Dzookeeper.log.dir="${ZOO_LOG_DIR:-/logs}" -Dzookeeper.root.logger="${ZOO_LOG4J_PROP:-INFO,CONSOLE}" \
	-cp "$classpath" org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf_dir/zoo.cfg"
