/**
 * ACL command categories (`+@read`, `-@dangerous`, …). Commands shoal shares
 * with Redis carry Redis 7.0's categories (from its COMMAND INFO); the rest
 * (DM.*, STATS, commands added later) get them from their flags: readonly →
 * @read, write → @write, pubsub → @pubsub, fast → @fast else @slow, plus
 * @dmap for DM.*. Container commands (CONFIG, CLIENT, ACL, COMMAND, CLUSTER)
 * are categorised per subcommand, as in Redis (`+config|get`).
 */

/** Every category, in Redis' `ACL CAT` order, then shoal's own @dmap. */
export const ACL_CATEGORIES = [
  "keyspace",
  "read",
  "write",
  "set",
  "sortedset",
  "list",
  "hash",
  "string",
  "bitmap",
  "hyperloglog",
  "geo",
  "stream",
  "pubsub",
  "admin",
  "fast",
  "slow",
  "blocking",
  "dangerous",
  "connection",
  "transaction",
  "scripting",
  "dmap",
] as const;

const KNOWN: Record<string, string> = {
  get: "read string fast",
  set: "write string slow",
  setnx: "write string fast",
  setex: "write string slow",
  psetex: "write string slow",
  getset: "write string fast",
  getdel: "write string fast",
  getex: "write string fast",
  mget: "read string fast",
  mset: "write string slow",
  msetnx: "write string slow",
  incr: "write string fast",
  decr: "write string fast",
  incrby: "write string fast",
  decrby: "write string fast",
  incrbyfloat: "write string fast",
  append: "write string fast",
  strlen: "read string fast",
  getrange: "read string slow",
  setrange: "write string slow",
  del: "keyspace write slow",
  unlink: "keyspace write fast",
  exists: "keyspace read fast",
  expire: "keyspace write fast",
  pexpire: "keyspace write fast",
  expireat: "keyspace write fast",
  pexpireat: "keyspace write fast",
  ttl: "keyspace read fast",
  pttl: "keyspace read fast",
  expiretime: "keyspace read fast",
  pexpiretime: "keyspace read fast",
  persist: "keyspace write fast",
  type: "keyspace read fast",
  scan: "keyspace read slow",
  keys: "keyspace read slow dangerous",
  randomkey: "keyspace read slow",
  dbsize: "keyspace read fast",
  flushdb: "keyspace write slow dangerous",
  flushall: "keyspace write slow dangerous",
  ping: "fast connection",
  echo: "fast connection",
  quit: "fast connection",
  reset: "fast connection",
  auth: "fast connection",
  hello: "fast connection",
  select: "fast connection",
  info: "slow dangerous",
  time: "fast",
  lastsave: "admin fast dangerous",
  save: "admin slow dangerous",
  bgsave: "admin slow dangerous",
  publish: "pubsub fast",
  subscribe: "pubsub slow",
  psubscribe: "pubsub slow",
  unsubscribe: "pubsub slow",
  punsubscribe: "pubsub slow",
  spublish: "pubsub fast",
  ssubscribe: "pubsub slow",
  sunsubscribe: "pubsub slow",
  pubsub: "slow",
  stats: "slow dangerous",
  "dm.destroy": "keyspace write slow dangerous dmap",
  "dm.scan": "keyspace read slow dmap",
  "dm.scanall": "keyspace read slow dmap",
  "dm.maps": "keyspace read slow dmap",
  hset: "write hash fast",
  hmset: "write hash fast",
  hsetnx: "write hash fast",
  hget: "read hash fast",
  hmget: "read hash fast",
  hgetall: "read hash slow",
  hkeys: "read hash slow",
  hvals: "read hash slow",
  hdel: "write hash fast",
  hexists: "read hash fast",
  hlen: "read hash fast",
  hstrlen: "read hash fast",
  hincrby: "write hash fast",
  hincrbyfloat: "write hash fast",
  hrandfield: "read hash slow",
  hscan: "read hash slow",
  sadd: "write set fast",
  srem: "write set fast",
  sismember: "read set fast",
  smismember: "read set fast",
  smembers: "read set slow",
  scard: "read set fast",
  spop: "write set fast",
  srandmember: "read set slow",
  smove: "write set fast",
  sinter: "read set slow",
  sunion: "read set slow",
  sdiff: "read set slow",
  sinterstore: "write set slow",
  sunionstore: "write set slow",
  sdiffstore: "write set slow",
  sintercard: "read set slow",
  sscan: "read set slow",
  monitor: "admin slow dangerous",
  substr: "read string slow",
  lcs: "read string slow",
  setbit: "write bitmap slow",
  getbit: "read bitmap fast",
  bitcount: "read bitmap slow",
  bitpos: "read bitmap slow",
  rename: "keyspace write slow",
  renamenx: "keyspace write fast",
  copy: "keyspace write slow",
  touch: "keyspace read fast",
  object: "keyspace read slow",
  memory: "slow",
  dump: "keyspace read slow",
  restore: "keyspace write slow dangerous",
  multi: "fast transaction",
  exec: "slow transaction",
  discard: "fast transaction",
  watch: "fast transaction",
  unwatch: "fast transaction",
  command: "slow connection",
  config: "slow",
  client: "slow",
  acl: "slow",
  cluster: "slow",
};

const ADMIN = "admin slow dangerous";
const CLIENT_ADMIN = "admin slow dangerous connection";

/** Subcommand categories of the container commands. */
const SUBCOMMANDS: Record<string, Record<string, string>> = {
  config: { get: ADMIN, set: ADMIN, resetstat: ADMIN, rewrite: ADMIN, help: "slow" },
  client: {
    list: CLIENT_ADMIN,
    kill: CLIENT_ADMIN,
    pause: CLIENT_ADMIN,
    unpause: CLIENT_ADMIN,
    unblock: CLIENT_ADMIN,
    "no-evict": CLIENT_ADMIN,
    "*": "slow connection",
  },
  acl: { whoami: "slow", cat: "slow", genpass: "slow", help: "slow", "*": ADMIN },
  command: { "*": "slow connection" },
  pubsub: { "*": "pubsub slow" },
  object: { "*": "keyspace read slow" },
  memory: { usage: "read slow", "*": "slow" },
  cluster: {
    info: "slow",
    nodes: "slow",
    slots: "slow",
    shards: "slow",
    myid: "slow",
    keyslot: "slow",
    countkeysinslot: "slow",
    getkeysinslot: "slow",
    links: "slow",
    help: "slow",
    "*": ADMIN,
  },
};

/** True for commands whose ACL unit is `name|subcommand`. */
export const isContainer = (name: string): boolean => SUBCOMMANDS[name] !== undefined;

/** True when `name` is a command ACL rules may name even before it is registered (cluster layer). */
export const isKnownCommand = (name: string): boolean => KNOWN[name] !== undefined;

/** The known subcommands of a container (for rule validation), or undefined. */
export const subcommandsOf = (name: string): string[] | undefined =>
  SUBCOMMANDS[name] ? Object.keys(SUBCOMMANDS[name]).filter((s) => s !== "*") : undefined;

const cache = new Map<string, ReadonlySet<string>>();

/**
 * Categories of a command (`name`, with its table `flags`) or of one
 * subcommand of a container (`sub`, lower-case).
 */
export function categoriesOf(name: string, flags: readonly string[], sub?: string): ReadonlySet<string> {
  const id = sub === undefined ? name : `${name}|${sub}`;
  let cats = cache.get(id);
  if (cats) return cats;
  const subs = sub === undefined ? undefined : SUBCOMMANDS[name];
  // DM.<command> on a named map carries the categories of <command>, plus @dmap
  const plain = name.startsWith("dm.") && KNOWN[name.slice(3)] !== undefined ? `${KNOWN[name.slice(3)]} dmap` : undefined;
  const known = subs ? (subs[sub!] ?? subs["*"] ?? "slow") : (KNOWN[name] ?? plain);
  if (known !== undefined) cats = new Set(known.split(" "));
  else {
    const s = new Set<string>();
    if (flags.includes("readonly")) s.add("read");
    if (flags.includes("write")) s.add("write");
    if (flags.includes("pubsub")) s.add("pubsub");
    s.add(flags.includes("fast") ? "fast" : "slow");
    if (name.startsWith("dm.")) s.add("dmap");
    cats = s;
  }
  if (cache.size < 4096) cache.set(id, cats);
  return cats;
}
