//! The parts of Kubernetes objects the charm reads, as typed values. Unknown fields are ignored
//! and missing optional ones default to empty, so any API version's answer parses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An entry of `metadata.ownerReferences`. The charm copies pod `<app>-0`'s (its StatefulSet)
/// onto the objects it creates so they are garbage-collected with the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// The owner's API version, e.g. `apps/v1`.
    pub api_version: String,
    /// The owner's kind, e.g. `StatefulSet`.
    pub kind: String,
    /// The owner's name.
    pub name: String,
    /// The owner's UID.
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether deleting the owner in the foreground waits for this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// The `metadata` of any object: what the charm needs of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name.
    #[serde(default)]
    pub name: String,
    /// The namespace (empty for cluster-scoped objects).
    #[serde(default)]
    pub namespace: String,
    /// The labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The annotations (Patroni keeps its leader lock in `leader` on Endpoints `patroni-<app>`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The owners.
    #[serde(default)]
    pub owner_references: Vec<OwnerReference>,
}

/// Any object read only for its metadata (Endpoints, Services).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct KubeObject {
    /// The object's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

/// A list answer (`EndpointsList`, `ServiceList`), read for its items' metadata.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct ObjectList {
    #[serde(default)]
    pub items: Vec<KubeObject>,
}

/// A pod: its owners, node and containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Pod {
    /// The pod's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The parts of `spec` the charm reads.
    #[serde(default)]
    pub spec: PodSpec,
}

/// The parts of a pod's `spec` the charm reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// The node the pod is scheduled on (empty while pending).
    #[serde(default)]
    pub node_name: String,
    /// The pod's containers.
    #[serde(default)]
    pub containers: Vec<Container>,
}

/// One container of a pod: its name and resource limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Container {
    /// The container's name (`postgresql`, `charm`).
    pub name: String,
    /// Its resource requests and limits.
    #[serde(default)]
    pub resources: ResourceRequirements,
}

/// A container's `resources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResourceRequirements {
    /// Limits by resource name (`cpu`, `memory`), as Kubernetes quantities.
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}

impl Pod {
    /// The resource limits of the container `name`; empty when it has none or does not exist.
    pub fn container_limits(&self, name: &str) -> BTreeMap<String, String> {
        self.spec
            .containers
            .iter()
            .find(|container| container.name == name)
            .map(|container| container.resources.limits.clone())
            .unwrap_or_default()
    }
}

/// A node: its allocatable resources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Node {
    /// The node's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The parts of `status` the charm reads.
    #[serde(default)]
    pub status: NodeStatus,
}

/// The parts of a node's `status` the charm reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NodeStatus {
    /// Resources available to pods, by name (`cpu`, `memory`), as Kubernetes quantities.
    #[serde(default)]
    pub allocatable: BTreeMap<String, String>,
}
