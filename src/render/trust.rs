//! The shared root of trust: every cluster that runs istiod gets a `cacerts` secret with
//! its own intermediate CA under the mesh's root, produced by cert-manager or read from
//! the secret store by External Secrets. Key material is never written.

use serde_json::json;

use super::{Cx, Layer, Origin, Place, metadata};
use crate::ast::IssuerKind;
use crate::model::{Ca, EXTERNAL_ISTIOD_NS, Role};

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
    let value = match ca {
        // istiod accepts a kubernetes.io/tls `cacerts` (tls.crt, tls.key, ca.crt) since
        // 1.15; ca.crt, the issuer's CA, is the root every cluster shares.
        Ca::CertManager { issuer, kind } => json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": metadata("cacerts", Some(ns)),
            "spec": {
                "secretName": "cacerts",
                "isCA": true,
                "commonName": format!("{} intermediate CA", c.name),
                "subject": { "organizations": [cx.mesh.name] },
                "duration": "8760h",
                "renewBefore": "720h",
                "privateKey": { "algorithm": "RSA", "size": 4096, "rotationPolicy": "Always" },
                "usages": ["cert sign", "crl sign", "digital signature", "key encipherment"],
                "issuerRef": {
                    "group": "cert-manager.io",
                    "kind": match kind { IssuerKind::ClusterIssuer => "ClusterIssuer", IssuerKind::Issuer => "Issuer" },
                    "name": issuer
                }
            }
        }),
        Ca::ExternalSecret { key } => {
            let Some(store) = &cx.model.secrets else {
                return;
            };
            let key = key.replace("{cluster}", &c.name);
            let data: Vec<_> = [
                "ca-cert.pem",
                "ca-key.pem",
                "cert-chain.pem",
                "root-cert.pem",
            ]
            .iter()
            .map(|f| json!({ "secretKey": f, "remoteRef": { "key": key, "property": f } }))
            .collect();
            json!({
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": metadata("cacerts", Some(ns)),
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": { "kind": store.kind_str(), "name": store.store },
                    "target": { "name": "cacerts", "creationPolicy": "Owner" },
                    "data": data
                }
            })
        }
    };
    cx.push(Place::Layer(Layer::Prereqs), value, origin);
}
