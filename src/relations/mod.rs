//! One module per relation endpoint: parsing what the other side wrote (untrusted input, parsed
//! at the edge) and deciding what we write.

pub mod dashboards;
pub mod database;
pub mod etcd;
pub mod logging;
pub mod metrics;
pub mod pgsql;
pub mod s3;
pub mod topology;
pub mod traces;

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    /// A relation bag from pairs.
    pub(crate) fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}
