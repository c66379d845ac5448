//! The shared root of trust: every cluster that runs istiod gets a `cacerts` secret with
//! its own intermediate CA under the mesh's root, produced by cert-manager or read from
//! the secret store by External Secrets; and, for an external control plane reached by host
//! name, the mesh's root in the namespace of the gateway that re-encrypts to istiod. Key
//! material is never written.

use serde_json::{Value, json};

use super::{Cx, Layer, Origin, Place, metadata};
use crate::ast::IssuerKind;
use crate::model::{Ca, EXTERNAL_ISTIOD_NS, ISTIO_SYSTEM, Role};

/// Secret (in istio-system on an external control-plane cluster reached by host name) whose
/// `ca.crt` is the mesh's root: the ingress gateway verifies istiod's certificate with it.
pub const EXTERNAL_ISTIOD_CA: &str = "external-istiod-ca";

pub fn render(cx: &mut Cx) {
    let Some((ca, span)) = &cx.mesh.ca else {
        return;
    };
    let c = cx.cluster();
    // Remotes run no istiod; an external control plane's istiod signs for its remotes.
    let ns = match c.role {
        Role::Remote { .. } => return,
        Role::External => EXTERNAL_ISTIOD_NS,
        Role::Primary => cx.mesh.istiod_namespace(cx.i),
    };
    let origin = Origin {
        span: *span,
        path: format!("mesh {} (ca)", cx.mesh.name),
    };
    // istiod accepts a kubernetes.io/tls `cacerts` (tls.crt, tls.key, ca.crt) since 1.15;
    // ca.crt, the issuer's CA, is the root every cluster shares.
    let spec = json!({
        "isCA": true,
        "commonName": format!("{} intermediate CA", c.name),
        "subject": { "organizations": [cx.mesh.name] },
        "duration": "8760h",
        "renewBefore": "720h",
        "privateKey": { "algorithm": "RSA", "size": 4096, "rotationPolicy": "Always" },
        "usages": ["cert sign", "crl sign", "digital signature", "key encipherment"]
    });
    let files = [
        "ca-cert.pem",
        "ca-key.pem",
        "cert-chain.pem",
        "root-cert.pem",
    ]
    .map(|f| (f, f));
    let Some(value) = from_ca(cx, ca, "cacerts", ns, spec, &files) else {
        return;
    };
    cx.push(Place::Layer(Layer::Prereqs), value, origin.clone());
    if c.external_by_name() {
        gateway_root(cx, ca, origin);
    }
}

/// The mesh's root as `ca.crt` of Secret `external-istiod-ca` in istio-system, for the
/// DestinationRule with which the external cluster's ingress gateway re-encrypts to istiod
/// (`credentialName`: for SIMPLE TLS the gateway reads only the CA,
/// pilot/pkg/security/model/authentication.go `ApplyCustomSDSToClientCommonTLSContext`).
/// Without it, a SIMPLE DestinationRule verifies against the OS roots (`"system"`: in 1.24
/// and 1.25 set by pilot/pkg/networking/core/cluster_traffic_policy.go, from 1.26 by
/// cluster_tls.go `NonEmptyOrDefault`) and refuses istiod's mesh-CA certificate. The
/// gateway's own root is no help: the local istiod that serves it has a root of its own.
fn gateway_root(cx: &mut Cx, ca: &Ca, origin: Origin) {
    // From cert-manager: a certificate of the mesh's issuer, kept only for its `ca.crt`
    // (cert-manager writes the chain's self-signed root there:
    // pkg/util/pki/parse_certificate_chain.go). Its key is a by-product: a client-auth leaf
    // with no SPIFFE identity, which no sidecar accepts as a mesh peer. trust-manager would
    // publish the root without one, but is a controller meshc does not assume. An `Issuer`
    // (namespaced) must then exist in istio-system too (`meshc plan` says so).
    let spec = json!({
        "commonName": format!("{} ingress gateway", cx.cluster().name),
        "duration": "8760h",
        "renewBefore": "720h",
        "privateKey": { "algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always" },
        "usages": ["digital signature", "client auth"]
    });
    let files = [("ca.crt", "root-cert.pem")];
    let Some(value) = from_ca(cx, ca, EXTERNAL_ISTIOD_CA, ISTIO_SYSTEM, spec, &files) else {
        return;
    };
    cx.push(Place::Layer(Layer::Prereqs), value, origin);
}

/// The object that produces Secret `name` in `ns` from the mesh's CA: a cert-manager
/// Certificate with `spec` (meshc adds the secret name and the mesh's issuer), or an
/// ExternalSecret of `files` (secret key, property of the cluster's CA key in the store).
fn from_ca(
    cx: &Cx,
    ca: &Ca,
    name: &str,
    ns: &str,
    spec: Value,
    files: &[(&str, &str)],
) -> Option<Value> {
    match ca {
        Ca::CertManager { issuer, kind } => {
            let mut full = json!({ "secretName": name });
            for (k, v) in spec.as_object().into_iter().flatten() {
                full[k] = v.clone();
            }
            let mut spec = full;
            spec["issuerRef"] = json!({
                "group": "cert-manager.io",
                "kind": match kind { IssuerKind::ClusterIssuer => "ClusterIssuer", IssuerKind::Issuer => "Issuer" },
                "name": issuer
            });
            Some(json!({
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": metadata(name, Some(ns)),
                "spec": spec
            }))
        }
        Ca::ExternalSecret { key } => {
            let store = cx.model.secrets.as_ref()?;
            let key = key.replace("{cluster}", &cx.cluster().name);
            let data: Vec<Value> = files
                .iter()
                .map(|(to, from)| json!({ "secretKey": to, "remoteRef": { "key": key, "property": from } }))
                .collect();
            Some(json!({
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": metadata(name, Some(ns)),
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": { "kind": store.kind_str(), "name": store.store },
                    "target": { "name": name, "creationPolicy": "Owner" },
                    "data": data
                }
            }))
        }
    }
}
