# net.awk (cdk8s-wireguard-gateway): the awk functions init.sh and start-nginx.sh share
# to check addresses, ports and networks as data. A script prepends this file's text to
# its own awk program (both run it from the copy their container checked). The caller
# sets the awk variable net ("a.b.c.d/n", the service network) for inside().

# ipv4(a): a is a dotted-quad IPv4 address, each part 0 to 255, no leading zeros.
function ipv4(a,  o, i) {
  if (split(a, o, ".") != 4) return 0
  for (i = 1; i <= 4; i++) if (o[i] !~ /^(0|[1-9][0-9]?[0-9]?)$/ || o[i] + 0 > 255) return 0
  return 1
}
# int4(a): an IPv4 address as a number.
function int4(a,  o) { split(a, o, "."); return ((o[1] * 256 + o[2]) * 256 + o[3]) * 256 + o[4] }
# inside(a): the address a lies in the network net (no ^: busybox awk may lack its math).
function inside(a,  n, size, i) {
  split(net, n, "/"); size = 1
  for (i = n[2]; i < 32; i++) size *= 2
  return int(int4(a) / size) == int(int4(n[1]) / size)
}
# port(p): a TCP port, 1 to 65535.
function port(p) { return p ~ /^[1-9][0-9]*$/ && length(p) <= 5 && p + 0 <= 65535 }
