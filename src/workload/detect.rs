//! What the workload image provides: the PostgreSQL major version and binaries, the exporter,
//! and which preloadable libraries exist (a missing one would stop PostgreSQL from starting).

/// Facts about the image, found by listing a few directories through Pebble.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Installed {
    /// PostgreSQL major version (`15`).
    pub major: u32,
    /// Its binary directory (`/usr/lib/postgresql/15/bin`).
    pub bin_dir: String,
    /// Its library directory (`/usr/lib/postgresql/15/lib`), where extensions' `.so` files are.
    pub lib_dir: String,
    /// How to start the postgres exporter (`/start-exporter.sh` in the rock, the Debian binary
    /// otherwise), if the image has one.
    pub exporter: Option<String>,
}

/// Pick the newest PostgreSQL in `/usr/lib/postgresql` from the names found there (those with a
/// `bin/postgres`), and the exporter from the candidates that exist.
pub fn detect_installed(
    versions_with_server: &[String],
    exporters_present: &[String],
) -> Option<Installed> {
    let major = versions_with_server
        .iter()
        .filter_map(|v| v.parse::<u32>().ok())
        .max()?;
    Some(Installed {
        major,
        bin_dir: format!("/usr/lib/postgresql/{major}/bin"),
        lib_dir: format!("/usr/lib/postgresql/{major}/lib"),
        exporter: EXPORTER_CANDIDATES
            .iter()
            .find(|c| exporters_present.iter().any(|p| p == *c))
            .map(|c| c.to_string()),
    })
}

/// Where an exporter may be, in order of preference.
pub const EXPORTER_CANDIDATES: &[&str] = &[
    "/start-exporter.sh",
    "/usr/bin/prometheus-postgres-exporter",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_server_and_an_exporter() {
        let found = detect_installed(
            &["14".into(), "15".into(), "notes".into()],
            &["/usr/bin/prometheus-postgres-exporter".into()],
        )
        .unwrap();
        assert_eq!(found.major, 15);
        assert_eq!(found.bin_dir, "/usr/lib/postgresql/15/bin");
        assert_eq!(
            found.exporter.as_deref(),
            Some("/usr/bin/prometheus-postgres-exporter")
        );
        assert!(detect_installed(&[], &[]).is_none());
        let rock = detect_installed(
            &["14".into()],
            &[
                "/start-exporter.sh".into(),
                "/usr/bin/prometheus-postgres-exporter".into(),
            ],
        )
        .unwrap();
        assert_eq!(rock.exporter.as_deref(), Some("/start-exporter.sh"));
    }
}
