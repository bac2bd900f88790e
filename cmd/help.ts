/**
 * Help text of the `shoal` binary and each subcommand. `serve`'s flag list
 * is generated from the config schema (core/config-help.ts).
 */
import { configHelp } from "../core/config.ts";

/** `shoal --help`. */
export const MAIN_HELP = `shoal — distributed in-memory cache (Redis protocol, HTTP API, Olric-style maps)

Usage: shoal <command> [options]

Commands:
  serve     start a node (RESP on 3320, HTTP on 3380 by default)
  cli       interactive client, or run one command: shoal cli SET k v
  stats     print a running node's statistics
  bench     benchmark a running node (ops/s, p50, p99)
  certs     make a dev CA and node/client TLS certificates
  keygen    make a random cluster key for --cluster-key-file
  chaos     fault injection: deterministic simulation (--sim), real processes (--real), soak (--soak),
            your own tests against a failing cluster (--real --run "npm test")
  version   print the version
  help      show help for a command: shoal help serve

Run 'shoal <command> --help' for the options of a command.
`;

/** The connection options of cli, stats and bench (redis-cli's names). */
const CONNECTION_HELP = `  -h <host>        server host (default 127.0.0.1)
  -p <port>        server RESP port (default $SHOAL_PORT or 3320; the --tls-port with --tls)
  -a <password>    AUTH password (default $SHOAL_REQUIREPASS, then $REDISCLI_AUTH); also --pass
  --user <name>    ACL user to AUTH as (with -a/--pass)
  --tls            connect over TLS (implied by the options below)
  --cacert <file>  CA certificate to verify the server with (default: the system's)
  --cert <file>    client certificate, with --key (servers started with --tls-ca ask for one)
  --key <file>     private key of --cert
  --sni <name>     server name to send and verify (default: the host)
  --insecure       do not verify the server's certificate
`;

/** `shoal cli --help`. */
export const CLI_HELP = `Usage: shoal cli [-h host] [-p port] [-a password] [--user name] [--tls …] [--raw] [command [arg …]]

With a command, runs it once and prints the reply like redis-cli; the exit
status is 1 when the reply is an error. Without one, starts an interactive
prompt (host:port>) that reads commands from stdin; quote arguments with
"double quotes" (escapes \\n, \\xHH) or 'single quotes'. 'quit' or Ctrl-D leaves.

Options:
${CONNECTION_HELP}  --raw            print replies raw, without quotes and types
  --help           show this help
`;

/** `shoal stats --help`. */
export const STATS_HELP = `Usage: shoal stats [-h host] [-p port] [-a password] [--user name] [--tls …] [--json]

Prints a running node's statistics (the STATS command: keys, memory, hits,
misses, connections, commands, maps) followed by its INFO sections. On a
clustered node it also shows the cluster view: members with status,
incarnation and owned/replica partitions, table epoch, replication and
quorum settings, migration state, and router and membership counters.

Options:
${CONNECTION_HELP}  --json           print the raw STATS JSON only (with a "cluster" field when clustered)
  --help           show this help
`;

/** `shoal bench --help`. */
export const BENCH_HELP = `Usage: shoal bench [-h host] [-p port] [-a password] [--user name] [--tls …] [-c clients] [-n requests]
                   [-d size] [-P pipeline] [-t tests] [-r keyspace] [-q]

Runs a redis-benchmark style workload over real connections against a
running node (or any Redis server) and prints, per test, requests per
second with p50 and p99 latency in milliseconds. Progress goes to stderr.

Options:
${CONNECTION_HELP}  -c <clients>     parallel connections (default 50)
  -n <requests>    requests per test (default 100000)
  -d <bytes>       value size of SET (default 100)
  -P <n>           pipeline n requests per round trip (default 1)
  -t <tests>       comma list of ping,set,get,incr,del,dm.put,dm.get (default set,get)
  -r <keyspace>    random keys key:000000000000..keyspace-1 (default: one key)
  -q               quiet: no progress, only the result lines
  --help           show this help
`;

/** `shoal chaos --help`. */
export const CHAOS_HELP = `Usage: shoal chaos --sim [--seed N] [--seeds K] [--nodes 5] [--steps S] [--clients C]
                   [--faults PROFILE|KIND,…] [--link-faults mild|harsh]
                   [--workload mixed|registers]
                   [--inject-bug NAME] [--max-faulty N] [--stop-on-failure] [--json] [-q]
                   [--ownership consensus|gossip] [--report FILE.html]
       shoal chaos --real …     real \`shoal serve\` processes (see shoal chaos --real --help)
       shoal chaos --real --run "<command>" …
                                your own tests against a cluster under faults (see
                                shoal chaos --real --help)
       shoal chaos --soak …     long-running stability run (see shoal chaos --soak --help)

--sim runs whole clusters (RF=3, W=2, R=2) in one process on a simulated
clock and network. Each seed draws a fault schedule and a client workload
(put/get/delete, incr, lock/unlock, expire on a small key space); the same
seed replays the same history bit for bit. After the faults stop, checkers
verify the recorded history: no acknowledged write lost, no stale read
(per-key linearizability), no deleted key resurrected, counters exact, lock
fencing tokens ordered, expired keys gone, and liveness (membership
converged, every partition fully replicated, all nodes ready). Progress goes
to stderr; the summary (seeds, faults by kind, operations, violations, the
first violations with the history of their key) to stdout.

Options:
  --seed N           first seed (default 1; alone it runs just that seed)
  --seeds K          number of seeds (default 20; 100 with --inject-bug, which
                     stops at the first failing seed unless --seeds is given)
  --nodes N          cluster size (default 5)
  --steps S          fault steps of 200 simulated ms per seed (default 100)
  --clients C        concurrent clients (default 4)
  --faults F         profile or comma list of kinds (default: default)
                       default   every kind, mild drop/delay/reorder/corrupt
                       mild-no-pause  default without pause and partition
                       failover  crash,pause,partition,drop (harsh)
                       all       every kind (harsh); none  no faults
                     kinds: drop delay duplicate reorder corrupt partition one-way
                            crash pause skew jump join-leave stall
  --link-faults S    mild or harsh drop/delay/reorder/corrupt (default: the
                     profile's; harsh for a list of kinds)
  --workload W       mixed (default) or registers (put/get/delete only)
  --ownership O      consensus (default: agreed partition tables) or gossip
                     (each node's own member list; the regression seeds of the
                     gossip fixes run there, and so does --inject-bug
                     no-read-repair by default: agreed tables never leave an
                     owner stale, so read-repair is only a second line there)
  --report FILE      write one seed as a picture (.html: its faults against the
                     clients' throughput, errors and latency, the checkers'
                     verdicts; the first failing seed, else the first seed; it is
                     run once more with its history, which replays exactly) or as
                     JSON (any other name)
  --inject-bug NAME  plant a bug to see the checkers fail: ack-before-replicate,
                     skip-tombstone, no-read-repair, no-anti-entropy, no-hints,
                     keep-failed-writes (a comma list plants several), or a
                     regression fix switched off
                     (exec-on-any-copy, no-takeover-catch-up, no-dead-reconnect,
                     lenient-replicas, ignore-views, no-owner-lease,
                     lease-counts-suspects, takeover-pull-as-holder,
                     no-expiry-tombstone, leave-keeps-ownership,
                     join-catch-up-once, dirty-reads, read-during-gather;
                     core/cluster/bugs.ts says what each breaks). All but
                     skip-tombstone pick --faults failover --workload
                     registers unless given
  --max-faulty N     nodes faulty at once (default 1)
  --stop-on-failure  stop at the first failing seed
  --json             print the summary as JSON (no progress)
  -q                 no progress line
  --help             show this help

Exit status: 0 no violation, 1 violation found, 2 bad usage.
See CHAOS.md for the fault model and the measured results.
`;

/** `shoal certs --help`. */
export const CERTS_HELP = `Usage: shoal certs --out <dir> [--hosts 127.0.0.1,::1,localhost] [--nodes 3] [--days 365] [--force]

Makes a development CA and certificates with the openssl CLI (EC P-256):
ca.crt/ca.key, node1..N.crt/.key for servers and peers (serverAuth and
clientAuth; subjectAltName = --hosts plus the node's name) and
client.crt/client.key for clients when --tls-ca requires certificates.
Private keys are written with mode 0600. For development and tests: use
your own PKI in production.

Options:
  --out <dir>      directory to write to (created if missing)
  --hosts <list>   host names and IP addresses for the node certificates
                   (default 127.0.0.1,::1,localhost)
  --nodes <n>      number of node certificates (default 3)
  --days <n>       validity in days (default 365)
  --force          replace an existing CA in <dir>
  --help           show this help
`;

/** `shoal keygen --help`. */
export const KEYGEN_HELP = `Usage: shoal keygen [--out <file>] [--force]

Makes a new random cluster key (32 random bytes, base64url). Every node of a
cluster needs the same key: start each with --cluster-key-file <file>. Peers
without it can neither join nor send any request; every peer frame carries an
HMAC-SHA256 under a per-connection session key, so captured frames cannot be
replayed. A node whose --bind is not loopback refuses to start without it
(or mutual TLS, or --allow-insecure-peers).

Options:
  --out <file>     write the key to a new file with mode 0600 instead of printing it
  --force          replace <file> if it exists (the cluster then needs the new key everywhere)
  --help           show this help

Example:
  shoal keygen --out /etc/shoal/cluster.key
  shoal serve --bind 0.0.0.0 --peers 10.0.0.5:3322 --cluster-key-file /etc/shoal/cluster.key
`;

/** `shoal version --help`. */
export const VERSION_HELP = `Usage: shoal version [--json]

Prints the version, the 7-character commit this binary was built from and
the platform it runs on, e.g.
  shoal 0.1.0 (commit abc1234, linux-arm64, bun 1.4.5)

  --json   the same as one JSON object: name, version, commit, platform, runtime
`;

/** `shoal help --help`. */
export const HELP_HELP = `Usage: shoal help [command]

Shows the help of a command, or the list of commands.
`;

/** `shoal serve --help`: generated from the schema. */
export function serveHelp(): string {
  return configHelp();
}

/** Help text of a subcommand, or undefined when there is no such subcommand. */
export function helpFor(command: string): string | undefined {
  const texts: Record<string, () => string> = {
    serve: serveHelp,
    cli: () => CLI_HELP,
    stats: () => STATS_HELP,
    bench: () => BENCH_HELP,
    certs: () => CERTS_HELP,
    keygen: () => KEYGEN_HELP,
    chaos: () => CHAOS_HELP,
    version: () => VERSION_HELP,
    help: () => HELP_HELP,
  };
  return texts[command]?.();
}
