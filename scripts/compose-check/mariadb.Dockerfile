# A stand-in for mysql:8.0 made from debian:bookworm alone, for scripts/compose-check.sh on a
# machine that cannot pull images. It honours the MYSQL_* variables docker-compose.yml sets
# and has `mysqladmin` for the compose file's health check.
FROM debian:bookworm

# policy-rc.d: the package must not try to start a server while the image is built.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d \
 && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        mariadb-server mariadb-client \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && rm -rf /var/lib/mysql \
 && install -d -o mysql -g mysql -m 0750 /var/lib/mysql \
 && install -d -o mysql -g mysql /run/mysqld

COPY mariadb-entrypoint.sh /usr/local/bin/mariadb-entrypoint.sh

VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT ["/usr/local/bin/mariadb-entrypoint.sh"]
