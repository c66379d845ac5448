//! Strings checked as the consumer that reads them checks them. A value meshc writes
//! verbatim into an object must be one the API server, istiod or Envoy accepts; otherwise
//! the object is refused at apply time (a sync error far from the topology) or, worse,
//! accepted and ignored. Each rule names the source that decides it.

/// Why `value`, given to `prop` of node `node`, would be refused by its consumer, with a
/// short label for the span; `None` when it is fine. `prop` is the property's or the
/// argument's name.
pub fn violation(node: &str, prop: &str, value: &str) -> Option<(String, &'static str)> {
    match (node, prop) {
        ("cluster", "region" | "zone") => locality(value),
        ("deploy", "image") => image(value),
        (_, "header") => header_name(value),
        ("match", "exact" | "prefix") => header_value(value),
        ("match", "regex") => re2(value),
        ("retries", "on") => retry_on(value),
        ("host", "host") => host(value),
        ("route", "prefix") => path(value),
        _ => None,
    }
}

/// A locality part becomes the node label `topology.kubernetes.io/region` (or `zone`)
/// that istiod reads, so it is a label value (`IsValidLabelValue`, kubernetes
/// `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`), and Istio splits
/// localities on `/` (`region/zone/subzone`: istio
/// `pilot/pkg/serviceregistry/util/label/label.go`), so it holds none.
fn locality(v: &str) -> Option<(String, &'static str)> {
    let ok = !v.is_empty()
        && v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && v.as_bytes()[0].is_ascii_alphanumeric()
        && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric();
    (!ok).then(|| {
        (
            format!(
                "`{}` is not a Kubernetes label value: at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
                v.escape_debug()
            ),
            "not a label value",
        )
    })
}

/// An image reference as the container runtime parses it (`ParseNormalizedNamed`,
/// github.com/distribution/reference `reference.go` and `regexp.go`): a lowercase name of
/// `/`-separated components (the first may be a registry host with a port), then an
/// optional `:tag` of at most 128 word characters, `.` and `-`, and an optional
/// `@algorithm:hex` digest.
fn image(v: &str) -> Option<(String, &'static str)> {
    let bad = |why: &str| {
        Some((
            format!("`{}` is not an image reference: {why}", v.escape_debug()),
            "not an image reference",
        ))
    };
    if v.is_empty() {
        return bad("it is empty");
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it holds a space or a control character");
    }
    let (name_tag, digest) = v.split_once('@').map_or((v, None), |(n, d)| (n, Some(d)));
    if let Some(d) = digest {
        let ok = d.split_once(':').is_some_and(|(alg, hex)| {
            !alg.is_empty()
                && alg.bytes().all(|b| {
                    b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || matches!(b, b'+' | b'.' | b'_' | b'-')
                })
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !ok {
            return bad("its digest is not `algorithm:hex`");
        }
    }
    // A `:` after the last `/` starts the tag; one before it is a registry port.
    let slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[slash..].find(':') {
        Some(i) => (&name_tag[..slash + i], Some(&name_tag[slash + i + 1..])),
        None => (name_tag, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.as_bytes()[0] == b'_')
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return bad("its tag is not at most 128 letters, digits, `_`, `.` and `-`");
        }
    }
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or("");
    let registry = name.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    let components: Vec<&str> = if registry {
        parts.collect()
    } else {
        name.split('/').collect()
    };
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && c.as_bytes()[0].is_ascii_alphanumeric()
            && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
    };
    if components.is_empty() || !components.iter().all(|c| component_ok(c)) {
        return bad(
            "a repository name is lowercase letters and digits, with `.`, `_` or `-` between them",
        );
    }
    None
}

/// An HTTP header name is a token (RFC 9110 `tchar`), which is what istiod accepts in a
/// VirtualService match (`validHeaderNameRegex`, istio `pkg/config/validation/validation.go`).
fn header_name(v: &str) -> Option<(String, &'static str)> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    (v.is_empty() || !v.bytes().all(tchar)).then(|| {
        (
            format!("`{}` is not an HTTP header name (letters, digits and `!#$%&'*+-.^_`|~`, no spaces)", v.escape_debug()),
            "not a header name",
        )
    })
}

/// A header value cannot hold a line break or another control character (RFC 9110
/// `field-value`); such a value could never match a request.
fn header_value(v: &str) -> Option<(String, &'static str)> {
    v.chars().any(|c| c.is_control() && c != '\t').then(|| {
        (
            format!(
                "`{}` holds a control character, which no HTTP header value can",
                v.escape_debug()
            ),
            "not a header value",
        )
    })
}

/// Envoy matches `regex` with RE2 (istio writes `safe_regex`); a pattern that does not
/// parse makes Envoy reject the route. Checked with Rust's regex parser, whose syntax is
/// RE2's for everything RE2 has.
fn re2(v: &str) -> Option<(String, &'static str)> {
    regex_syntax::Parser::new().parse(v).err().map(|e| {
        let first = e.to_string();
        let why = first.lines().last().unwrap_or("").trim().to_string();
        (
            format!(
                "`{}` is not a valid RE2 regular expression: {why}",
                v.escape_debug()
            ),
            "not a regular expression",
        )
    })
}

/// `retries on=`: each comma-separated policy is one Envoy knows or an HTTP status code
/// (`supportedRetryOnPolicies` and `ValidateHTTPRetry`, istio
/// `pkg/config/validation/agent/validation.go`).
fn retry_on(v: &str) -> Option<(String, &'static str)> {
    const POLICIES: &[&str] = &[
        "5xx",
        "gateway-error",
        "reset",
        "reset-before-request",
        "connect-failure",
        "retriable-4xx",
        "refused-stream",
        "retriable-status-codes",
        "retriable-headers",
        "envoy-ratelimited",
        "http3-post-connect-failure",
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    ];
    let status = |p: &str| p.parse::<u16>().is_ok_and(|n| (100..=599).contains(&n));
    v.split(',')
        .find(|p| !POLICIES.contains(p) && !status(p))
        .map(|p| {
            (
                format!("`{}` is not a retry policy istiod accepts (`5xx`, `gateway-error`, `reset`, `connect-failure`, `retriable-4xx`, … or an HTTP status code)", p.escape_debug()),
                "not a retry policy",
            )
        })
}

/// An ingress host is a DNS name, with `*` only as the whole first label (istio
/// `ValidateWildcardDomain`, `pkg/config/validation/agent/validation.go`); ASCII only, so
/// a look-alike letter from another script (`аcme.io` with a Cyrillic `а`) is refused
/// rather than served as a different host: write such names in punycode (`xn--…`).
fn host(v: &str) -> Option<(String, &'static str)> {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let rest = v.strip_prefix("*.").unwrap_or(v);
    let ok = v.len() <= 253 && (v == "*" || rest.split('.').all(label));
    (!ok).then(|| {
        let why = if !v.is_ascii() {
            "it holds a character outside ASCII (a look-alike of a Latin letter?); write an internationalized name in punycode (`xn--…`)"
        } else {
            "a DNS name is labels of letters, digits and `-`, with `*.` only in front"
        };
        (format!("`{}` is not a host name: {why}", v.escape_debug()), "not a host name")
    })
}

/// A route prefix is matched against the request path, which has no spaces or control
/// characters (RFC 3986 `path`).
fn path(v: &str) -> Option<(String, &'static str)> {
    v.chars()
        .any(|c| c.is_whitespace() || c.is_control())
        .then(|| {
            (
                format!(
                    "`{}` holds a space or a control character, which no request path can",
                    v.escape_debug()
                ),
                "not a path prefix",
            )
        })
}

/// The longest duration a protobuf `Duration` (what Istio's APIs take) holds: 315,576,000,000
/// seconds, about 10,000 years (`google/protobuf/duration.proto`). A longer one makes the
/// object fail to decode in istiod.
pub const MAX_DURATION_SECONDS: u128 = 315_576_000_000;

/// The duration `s` (already of the form `<digits><unit>`) in seconds, if it is within
/// [`MAX_DURATION_SECONDS`].
pub fn duration_fits(s: &str) -> bool {
    let unit_at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let Ok(n) = s[..unit_at].parse::<u128>() else {
        return false;
    };
    let seconds = match &s[unit_at..] {
        "ms" => n / 1000,
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return false,
    };
    seconds <= MAX_DURATION_SECONDS
}
