//! Every value is read: each leaf value meshc sets in a Helm release is changed, and
//! removed, and the release rendered again by the real chart; the output must change.
//! This is what catches a misspelled key, which Helm ignores silently. A value the chart
//! does not read, or one whose removal changes nothing (it equals the chart default), is
//! allowed only if `NOT_READ` lists it with the reason.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::fleet::{Fleet, Release, par_map};

/// How a value was varied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Changed,
    Removed,
}

/// Values meshc sets that a render does not show, each with why it is still written:
/// (chart, path, variant, scope, reason). Paths use `.` between keys and `[n]` for list
/// items; `scope` (`key=value` on the release's values, or empty for every release) limits
/// an entry to the releases it is about, so the same value unread elsewhere still fails.
pub const NOT_READ: &[(&str, &str, Variant, &str, &str)] = &[
    (
        "base",
        "profile",
        Variant::Removed,
        "",
        "the Istio guides install a remote's base chart with profile=remote; \
         files/profile-remote.yaml only sets values of other charts (istiodRemote, configMap, \
         telemetry), so base renders the same without it. Changing it is read: an unknown \
         profile fails in templates/zzz_profile.yaml",
    ),
    (
        "gateway",
        "name",
        Variant::Removed,
        "",
        "equals the release name, which the chart uses when `name` is unset \
         (gateway/templates/_helpers.tpl); written so the gateway's Service and Deployment \
         names, which meshNetworks and peers rely on, do not hang on the release name",
    ),
    (
        "istiod",
        "meshConfig.rootNamespace",
        Variant::Removed,
        "global.istioNamespace=external-istiod",
        "equals the default, global.istioNamespace (istio-discovery/templates/configmap.yaml); \
         written as Istio's external-control-plane guide writes it, so the root namespace \
         does not follow a later change of the istiod namespace",
    ),
    (
        "istiod",
        "global.hub",
        Variant::Removed,
        "global.hub=docker.io/istio",
        "equals the default of the 1.28 charts (their release build stamps docker.io/istio); \
         written on every release so that images never follow a chart's default: the 1.30 \
         charts name registry.istio.io/release, a registry Istio has retired, and there \
         removing it does change the render",
    ),
    (
        REMOTE_IDENTITY[0],
        REMOTE_IDENTITY[1],
        Variant::Changed,
        "profile=remote",
        REMOTE_WHY,
    ),
    (
        REMOTE_IDENTITY[0],
        REMOTE_IDENTITY[1],
        Variant::Removed,
        "profile=remote",
        REMOTE_WHY,
    ),
    (
        REMOTE_CLUSTER[0],
        REMOTE_CLUSTER[1],
        Variant::Changed,
        "profile=remote",
        REMOTE_WHY,
    ),
    (
        REMOTE_CLUSTER[0],
        REMOTE_CLUSTER[1],
        Variant::Removed,
        "profile=remote",
        REMOTE_WHY,
    ),
    (
        REMOTE_NETWORK[0],
        REMOTE_NETWORK[1],
        Variant::Changed,
        "profile=remote",
        REMOTE_WHY,
    ),
    (
        REMOTE_NETWORK[0],
        REMOTE_NETWORK[1],
        Variant::Removed,
        "profile=remote",
        REMOTE_WHY,
    ),
];

const REMOTE_IDENTITY: [&str; 2] = ["istiod", "global.meshID"];
const REMOTE_CLUSTER: [&str; 2] = ["istiod", "global.multiCluster.clusterName"];
const REMOTE_NETWORK: [&str; 2] = ["istiod", "global.network"];
const REMOTE_WHY: &str = "a remote's identity, which Istio's remote-cluster guides set on the \
    istiod chart; the remote profile renders no istiod and no injector ConfigMap, so no \
    template uses it (1.28, 1.30). The remote's proxies get cluster and network from the \
    injection path meshc writes (istiodRemote.injectionPath or injectionURL, which is read). \
    Where the remote holds the external control plane's configuration (pilot.configMap), \
    global.meshID is read and this entry does not apply";

/// Does `scope` (`key.path=value`, or empty) hold for `values`?
fn in_scope(values: &Value, scope: &str) -> bool {
    let Some((path, want)) = scope.split_once('=') else {
        return true;
    };
    let mut v = values;
    for k in path.split('.') {
        v = &v[k];
    }
    v.as_str() == Some(want)
}

/// One step into a values document.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// A path as the allow-list writes it: `.` between keys, `[n]` for list items.
fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Every leaf of `v` by path.
fn leaves(v: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                path.push(Step::Key(k.clone()));
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                path.push(Step::Index(i));
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn step<'a>(v: &'a mut Value, s: &Step) -> &'a mut Value {
    match s {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    }
}

/// `values` with the leaf at `path` varied.
fn vary(values: &Value, path: &[Step], how: Variant) -> Value {
    let mut out = values.clone();
    let (last, parents) = path.split_last().expect("a leaf has a path");
    let mut at = &mut out;
    for s in parents {
        at = step(at, s);
    }
    match (how, last) {
        (Variant::Removed, Step::Key(k)) => {
            if let Some(m) = at.as_object_mut() {
                m.remove(k);
            }
        }
        (Variant::Removed, Step::Index(i)) => {
            if let Some(a) = at.as_array_mut() {
                a.remove(*i);
            }
        }
        (Variant::Changed, s) => {
            let leaf = step(at, s);
            *leaf = changed(leaf);
        }
    }
    out
}

/// A different value of the same type.
fn changed(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) => Value::from(n.as_i64().map_or(1, |i| i + 1)),
        Value::String(s) if s == "true" => Value::from("false"),
        Value::String(s) if s == "false" => Value::from("true"),
        Value::String(s) => Value::from(format!("{s}x")),
        Value::Null => Value::from("x"),
        other => other.clone(),
    }
}

/// What a render does with its values, with the echoes of the values set aside: the
/// istiod chart writes every value into ConfigMap `values` ("for debugging purposes and
/// external tooling; modifying these values has no effect", templates/configmap-values.yaml),
/// and a subset into the `values` key of ConfigMap `istio-sidecar-injector`
/// (templates/istiod-injector-configmap.yaml), which istiod hands to the injection
/// templates of that ConfigMap's `config` key (pkg/kube/inject/webhook.go): a value there is
/// read only if a template names it.
struct Seen {
    /// Every object but the echoes, as text.
    rest: String,
    /// The injector's `values`, and its templates.
    injector: Value,
    templates: String,
}

impl Seen {
    fn of(text: &str) -> Seen {
        let mut rest = Vec::new();
        let mut injector = Value::Null;
        let mut templates = String::new();
        for mut o in crate::tools::documents(text) {
            let name = o["metadata"]["name"].as_str().unwrap_or("").to_string();
            if o["kind"] == "ConfigMap" && o["data"]["merged-values"].is_string() {
                continue;
            }
            if o["kind"] == "ConfigMap"
                && name.starts_with("istio-sidecar-injector")
                && let Some(data) = o["data"].as_object_mut()
            {
                if let Some(v) = data.remove("values") {
                    injector = v
                        .as_str()
                        .and_then(|t| serde_json::from_str(t).ok())
                        .unwrap_or(Value::Null);
                }
                templates = data
                    .get("config")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
            }
            rest.push(o.to_string());
        }
        Seen {
            rest: rest.join("\n"),
            injector,
            templates,
        }
    }

    /// Does `other` (rendered with the value at `path` varied) differ in what is used?
    fn reads(&self, other: &Seen, path: &[Step]) -> bool {
        if self.rest != other.rest {
            return true;
        }
        if self.injector == other.injector {
            return false;
        }
        // Only the injector's values changed: read if an injection template names the
        // value, or uses a parent of it below the top level whole (`.Values.global.proxy`
        // not followed by `.`: `.Values.global.multiCluster.clusterName` does not read a
        // misspelled `global.multiCluster.clustrName`).
        let keys: Vec<&str> = path
            .iter()
            .filter_map(|s| match s {
                Step::Key(k) => Some(k.as_str()),
                Step::Index(_) => None,
            })
            .collect();
        (2..=keys.len()).any(|n| {
            let name = format!(".Values.{}", keys[..n].join("."));
            self.templates.match_indices(&name).any(|(at, _)| {
                !self.templates[at + name.len()..]
                    .starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
            })
        })
    }
}

/// One value that no render showed.
pub struct Unread {
    pub chart: String,
    pub path: String,
    pub variant: Variant,
    /// Labels of the releases where it is unread, with their values.
    pub releases: BTreeMap<String, Value>,
}

/// Every (chart, path, variant) whose variation changed no render, over the fleet.
pub fn unread(fleet: &Fleet) -> (usize, Vec<Unread>) {
    // Distinct inputs: one per chart version, chart, release, namespace and values.
    let mut distinct: BTreeMap<String, (Release, String)> = BTreeMap::new();
    for case in &fleet.cases {
        for r in &case.releases {
            let key = format!(
                "{}|{}|{}|{}|{}",
                r.version, r.chart, r.release, r.namespace, r.values
            );
            distinct
                .entry(key)
                .or_insert_with(|| (r.clone(), r.label(case)));
        }
    }
    let mut jobs = Vec::new();
    for (r, label) in distinct.values() {
        let mut paths = Vec::new();
        leaves(&r.values, &mut Vec::new(), &mut paths);
        for p in paths.into_iter().filter(|p| !p.is_empty()) {
            for how in [Variant::Changed, Variant::Removed] {
                jobs.push((r, label, p.clone(), how));
            }
        }
    }
    let results = par_map(&jobs, |(r, _, path, how)| {
        let base = fleet.render(r, &r.values).map(|t| Seen::of(&t));
        let varied = fleet
            .render(r, &vary(&r.values, path, *how))
            .map(|t| Seen::of(&t));
        match (base, varied) {
            (Ok(b), Ok(v)) => !b.reads(&v, path),
            (b, v) => b.is_err() == v.is_err(),
        }
    });
    let mut out: BTreeMap<(String, String, Variant), BTreeMap<String, Value>> = BTreeMap::new();
    for ((r, label, path, how), same) in jobs.iter().zip(results) {
        if same {
            out.entry((r.chart.clone(), display(path), *how))
                .or_default()
                .insert((*label).clone(), r.values.clone());
        }
    }
    let unread = out
        .into_iter()
        .map(|((chart, path, variant), releases)| Unread {
            chart,
            path,
            variant,
            releases,
        })
        .collect();
    (jobs.len(), unread)
}

/// Every value meshc sets that no render shows and `NOT_READ` does not excuse, every
/// `NOT_READ` entry that excuses nothing, and how many variations were rendered.
pub fn failures(fleet: &Fleet) -> (usize, Vec<String>) {
    let (renders, unread) = unread(fleet);
    let mut failures = Vec::new();
    for u in &unread {
        for (label, values) in &u.releases {
            let excused = NOT_READ.iter().any(|(chart, path, how, scope, _)| {
                *chart == u.chart && *path == u.path && *how == u.variant && in_scope(values, scope)
            });
            if !excused {
                failures.push(format!(
                    "chart {}: value {} {:?} changes nothing: {label}",
                    u.chart, u.path, u.variant
                ));
            }
        }
    }
    for (chart, path, how, scope, _) in NOT_READ {
        let used = unread.iter().any(|u| {
            u.chart == *chart
                && u.path == *path
                && u.variant == *how
                && u.releases.values().any(|v| in_scope(v, scope))
        });
        if !used {
            failures.push(format!("NOT_READ lists chart {chart} value {path} {how:?}, which every release reads now (or none sets): remove it"));
        }
    }
    (renders, failures)
}
