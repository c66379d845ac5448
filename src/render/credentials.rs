//! Credentials between clusters, by reference only. A control plane reads a peer's API
//! server through a remote secret: here an ExternalSecret that templates the kubeconfig
//! istiod expects (name `istio-remote-secret-<peer>`, label `istio/multiCluster: "true"`,
//! data key = the peer's cluster name) from a token kept in the secret store. The peer
//! side gets the service-account token Secret that Kubernetes fills in, and a PushSecret
//! that publishes it to the store. No token is ever written by meshc. Keys are
//! `<prefix>clusters/<owner>/<account>`; a `{cluster}` in the prefix names the reading
//! cluster, so a token is pushed once per reader, into that reader's own area
//! (docs/credentials.md says what each store must then allow).

use serde_json::{Value, json};

use super::{Cx, Layer, Place, metadata};
use crate::model::{ApiServerTls, Cluster, Role, SecretStore};

/// Service account whose token a peer uses: the reader for endpoint discovery, `istiod`
/// for the config cluster of an external control plane.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Account {
    Reader,
    Istiod,
}

impl Account {
    fn name(self) -> &'static str {
        match self {
            Account::Reader => "istio-reader-service-account",
            Account::Istiod => "istiod",
        }
    }

    fn store_suffix(self) -> &'static str {
        match self {
            Account::Reader => "reader",
            Account::Istiod => "istiod",
        }
    }
}

/// Store key where cluster `reader` finds cluster `owner`'s token for `account`.
fn store_key(store: &SecretStore, reader: &str, owner: &str, account: Account) -> String {
    store.key(
        reader,
        &format!("clusters/{owner}/{}", account.store_suffix()),
    )
}

/// The remote secret a control plane reads cluster `peer` with.
pub fn remote_secret_name(peer: &str) -> String {
    format!("istio-remote-secret-{peer}")
}

/// The Secret an external istiod reads its config cluster with (the chart's `KUBECONFIG`).
pub const KUBECONFIG_SECRET: &str = "istio-kubeconfig";

pub fn render(cx: &mut Cx) {
    let Some(store) = &cx.model.secrets else {
        return;
    };
    let i = cx.i;
    let ns = cx.mesh.istiod_namespace(i);
    let me = cx.cluster().name.clone();
    for j in cx.mesh.peers_read_by(i) {
        let peer = &cx.mesh.clusters[j];
        let name = remote_secret_name(&peer.name);
        let v = remote_secret(store, &me, &name, ns, peer, Account::Reader, true);
        let origin = cx.cluster_origin(&format!("reads cluster {}", peer.name));
        cx.push(Place::Layer(Layer::RemoteSecrets), v, origin);
    }
    if cx.cluster().role == Role::External
        && let Some(k) = cx.mesh.config_cluster_of(i)
    {
        // The external istiod reads its config cluster through `istio-kubeconfig`, key
        // `config`, as the config cluster's `istiod` service account.
        let peer = &cx.mesh.clusters[k];
        let v = remote_secret(
            store,
            &me,
            KUBECONFIG_SECRET,
            ns,
            peer,
            Account::Istiod,
            false,
        );
        let origin = cx.cluster_origin(&format!("reads config cluster {}", peer.name));
        cx.push(Place::Layer(Layer::Kubeconfig), v, origin);
    }
    // This cluster as a peer: publish the tokens its readers need.
    let n = cx.mesh.clusters.len();
    let names = |f: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..n)
            .filter(|&p| p != i && f(p))
            .map(|p| cx.mesh.clusters[p].name.clone())
            .collect()
    };
    let readers = names(&|p| cx.mesh.peers_read_by(p).contains(&i));
    let mut accounts = Vec::new();
    if !readers.is_empty() {
        accounts.push((Account::Reader, readers));
    }
    if matches!(cx.cluster().role, Role::Remote { config: true, .. }) {
        let external = names(&|p| {
            cx.mesh.clusters[p].role == Role::External && cx.mesh.config_cluster_of(p) == Some(i)
        });
        if !external.is_empty() {
            accounts.push((Account::Istiod, external));
        }
    }
    for (account, readers) in accounts {
        token_and_push(cx, store, ns, account, &readers);
    }
}

/// The kubeconfig istiod reads, templated by External Secrets (engine v2) from the
/// peer's `token` and `ca` in the store. The API server is verified against the cluster's
/// own CA, or the public roots (no `certificate-authority-data`: client-go then uses the
/// system pool), and against `tls-server-name` when the URL's host is not in its
/// certificate (client-go `rest.TLSClientConfig.ServerName`). Serialized from a value, not
/// pasted together, so no field can add a key to it.
fn kubeconfig(cluster: &str, server: &str, tls: &ApiServerTls) -> String {
    let mut c = json!({ "server": server });
    if !tls.system_roots {
        c["certificate-authority-data"] = json!("{{ .ca | b64enc }}");
    }
    if let Some(name) = &tls.server_name {
        c["tls-server-name"] = json!(name);
    }
    crate::yaml::to_yaml(&json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": cluster, "cluster": c }],
        "contexts": [{ "name": cluster, "context": { "cluster": cluster, "user": cluster } }],
        "current-context": cluster,
        "users": [{ "name": cluster, "user": { "token": "{{ .token }}" } }]
    }))
}

fn remote_secret(
    store: &SecretStore,
    reader: &str,
    name: &str,
    ns: &str,
    peer: &Cluster,
    account: Account,
    discovery: bool,
) -> Value {
    let server = peer.api_server.as_deref().unwrap_or("");
    let tls = &peer.api_server_tls;
    let peer = peer.name.as_str();
    let key = store_key(store, reader, peer, account);
    let (data_key, template_meta) = if discovery {
        (
            peer.to_string(),
            json!({
                "labels": { "istio/multiCluster": "true" },
                "annotations": { "networking.istio.io/cluster": peer }
            }),
        )
    } else {
        (
            "config".to_string(),
            json!({ "annotations": { "networking.istio.io/cluster": peer } }),
        )
    };
    let mut data = serde_json::Map::new();
    data.insert(data_key, json!(kubeconfig(peer, server, tls)));
    let mut fetch =
        vec![json!({ "secretKey": "token", "remoteRef": { "key": key, "property": "token" } })];
    if !tls.system_roots {
        fetch.push(json!({ "secretKey": "ca", "remoteRef": { "key": key, "property": "ca" } }));
    }
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": metadata(name, Some(ns)),
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": { "kind": store.kind_str(), "name": store.store },
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "template": { "engineVersion": "v2", "metadata": template_meta, "data": data }
            },
            "data": fetch
        }
    })
}

/// A long-lived token Secret for `account` (Kubernetes fills in `token` and `ca.crt`;
/// since 1.24 none is created by itself) and a PushSecret that copies both to the store,
/// where each of `readers` finds them (one key for all of them unless the prefix names
/// the reading cluster).
fn token_and_push(
    cx: &mut Cx,
    store: &SecretStore,
    ns: &str,
    account: Account,
    readers: &[String],
) {
    let c = cx.cluster();
    let secret_name = format!("{}-istio-remote-secret-token", account.name());
    let mut token = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(&secret_name, Some(ns)),
        "type": "kubernetes.io/service-account-token"
    });
    token["metadata"]["annotations"] =
        json!({ "kubernetes.io/service-account.name": account.name() });
    let mut keys: Vec<String> = readers
        .iter()
        .map(|r| store_key(store, r, &c.name, account))
        .collect();
    keys.dedup();
    let data: Vec<Value> = keys
        .iter()
        .flat_map(|key| {
            [
                json!({ "match": { "secretKey": "token", "remoteRef": { "remoteKey": key, "property": "token" } } }),
                json!({ "match": { "secretKey": "ca.crt", "remoteRef": { "remoteKey": key, "property": "ca" } } }),
            ]
        })
        .collect();
    let push = json!({
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "PushSecret",
        "metadata": metadata(&format!("{}-token", account.name()), Some(ns)),
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRefs": [{ "kind": store.kind_str(), "name": store.store }],
            "selector": { "secret": { "name": secret_name } },
            "data": data
        }
    });
    let origin = cx.cluster_origin("api-server");
    cx.push(Place::Layer(Layer::Credentials), token, origin.clone());
    cx.push(Place::Layer(Layer::Credentials), push, origin);
}
