# Varnish in front of the benchmark origin (bench/edge-vs-nginx-varnish.ts fills in the {{…}} fields); builtin VCL otherwise.
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "{{ORIGIN_PORT}}"; }
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
