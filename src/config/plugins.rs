//! The `plugin_*_enable` options and the PostgreSQL extensions they stand for (reference §2.3,
//! "Plugins" and "Plugin handling rules").

use super::Config;

/// One plugin option and the extensions it creates or drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plugin {
    /// The option's name (`plugin_<name>_enable`).
    pub option: &'static str,
    /// The extensions it stands for, in creation order (only `plugin_spi_enable` has several).
    pub extensions: &'static [&'static str],
}

/// One extension and whether the config wants it to exist in every database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension {
    /// The extension's name as `CREATE EXTENSION` takes it (unquoted: `uuid-ossp` needs quoting,
    /// which is the SQL module's job).
    pub name: &'static str,
    /// `true`: `CREATE EXTENSION IF NOT EXISTS`; `false`: `DROP EXTENSION IF EXISTS`.
    pub enabled: bool,
}

const fn plugin(option: &'static str, extensions: &'static [&'static str]) -> Plugin {
    Plugin { option, extensions }
}

/// Every plugin option, in `config.yaml` order.
#[rustfmt::skip]
pub static PLUGINS: &[Plugin] = &[
    plugin("plugin_address_standardizer_data_us_enable", &["address_standardizer_data_us"]),
    plugin("plugin_address_standardizer_enable", &["address_standardizer"]),
    plugin("plugin_audit_enable", &["pgaudit"]),
    plugin("plugin_bloom_enable", &["bloom"]),
    plugin("plugin_bool_plperl_enable", &["bool_plperl"]),
    plugin("plugin_btree_gin_enable", &["btree_gin"]),
    plugin("plugin_btree_gist_enable", &["btree_gist"]),
    plugin("plugin_citext_enable", &["citext"]),
    plugin("plugin_cube_enable", &["cube"]),
    plugin("plugin_debversion_enable", &["debversion"]),
    plugin("plugin_dict_int_enable", &["dict_int"]),
    plugin("plugin_dict_xsyn_enable", &["dict_xsyn"]),
    plugin("plugin_earthdistance_enable", &["earthdistance"]),
    plugin("plugin_fuzzystrmatch_enable", &["fuzzystrmatch"]),
    plugin("plugin_hll_enable", &["hll"]),
    plugin("plugin_hstore_enable", &["hstore"]),
    plugin("plugin_hypopg_enable", &["hypopg"]),
    plugin("plugin_icu_ext_enable", &["icu_ext"]),
    plugin("plugin_intarray_enable", &["intarray"]),
    plugin("plugin_ip4r_enable", &["ip4r"]),
    plugin("plugin_isn_enable", &["isn"]),
    plugin("plugin_jsonb_plperl_enable", &["jsonb_plperl"]),
    plugin("plugin_lo_enable", &["lo"]),
    plugin("plugin_ltree_enable", &["ltree"]),
    plugin("plugin_old_snapshot_enable", &["old_snapshot"]),
    plugin("plugin_orafce_enable", &["orafce"]),
    plugin("plugin_pg_freespacemap_enable", &["pg_freespacemap"]),
    plugin("plugin_pg_similarity_enable", &["pg_similarity"]),
    plugin("plugin_pg_trgm_enable", &["pg_trgm"]),
    plugin("plugin_pg_visibility_enable", &["pg_visibility"]),
    plugin("plugin_pgrowlocks_enable", &["pgrowlocks"]),
    plugin("plugin_pgstattuple_enable", &["pgstattuple"]),
    plugin("plugin_pg_stat_statements_enable", &["pg_stat_statements"]),
    plugin("plugin_plperl_enable", &["plperl"]),
    plugin("plugin_plpython3u_enable", &["plpython3u"]),
    plugin("plugin_pltcl_enable", &["pltcl"]),
    plugin("plugin_postgis_enable", &["postgis"]),
    plugin("plugin_postgis_raster_enable", &["postgis_raster"]),
    plugin("plugin_postgis_tiger_geocoder_enable", &["postgis_tiger_geocoder"]),
    plugin("plugin_postgis_topology_enable", &["postgis_topology"]),
    plugin("plugin_prefix_enable", &["prefix"]),
    plugin("plugin_rdkit_enable", &["rdkit"]),
    plugin("plugin_seg_enable", &["seg"]),
    plugin("plugin_spi_enable", &["refint", "autoinc", "insert_username", "moddatetime"]),
    plugin("plugin_tablefunc_enable", &["tablefunc"]),
    plugin("plugin_tcn_enable", &["tcn"]),
    plugin("plugin_tds_fdw_enable", &["tds_fdw"]),
    plugin("plugin_timescaledb_enable", &["timescaledb"]),
    plugin("plugin_tsm_system_rows_enable", &["tsm_system_rows"]),
    plugin("plugin_tsm_system_time_enable", &["tsm_system_time"]),
    plugin("plugin_unaccent_enable", &["unaccent"]),
    plugin("plugin_uuid_ossp_enable", &["uuid-ossp"]),
    plugin("plugin_vector_enable", &["vector"]),
];

/// The reference's required-plugin map: a plugin option, and the plugin options it needs on.
#[rustfmt::skip]
pub static REQUIRED_PLUGINS: &[(&str, &[&str])] = &[
    ("plugin_address_standardizer_enable", &["plugin_postgis_enable"]),
    ("plugin_address_standardizer_data_us_enable", &["plugin_postgis_enable"]),
    ("plugin_jsonb_plperl_enable", &["plugin_plperl_enable"]),
    ("plugin_postgis_raster_enable", &["plugin_postgis_enable"]),
    ("plugin_postgis_tiger_geocoder_enable", &["plugin_postgis_enable", "plugin_fuzzystrmatch_enable"]),
    ("plugin_postgis_topology_enable", &["plugin_postgis_enable"]),
];

/// The extensions others depend on, processed first (in this order), as the reference does.
const DEPENDENCY_EXTENSIONS: [&str; 3] = ["postgis", "fuzzystrmatch", "plperl"];

impl Config {
    /// Every extension with whether it should exist: `postgis`, `fuzzystrmatch` and `plperl`
    /// first, then the others in `config.yaml` order. Create the enabled ones in this order; drop
    /// the disabled ones in the reverse order, so that a dependent goes before what it needs.
    pub fn extensions(&self) -> Vec<Extension> {
        let all = PLUGINS.iter().flat_map(|plugin| {
            let enabled = self.plugin_enabled(plugin.option);
            plugin
                .extensions
                .iter()
                .map(move |name| Extension { name, enabled })
        });
        let (mut first, rest): (Vec<Extension>, Vec<Extension>) =
            all.partition(|e| DEPENDENCY_EXTENSIONS.contains(&e.name));
        first.sort_by_key(|e| DEPENDENCY_EXTENSIONS.iter().position(|d| *d == e.name));
        first.extend(rest);
        first
    }

    /// Enabled plugin options whose required plugin options are off, each with the missing ones
    /// (option names, for the log line behind the reference's blocked status `Unsatisfied plugin
    /// dependencies. Please check the logs`). Empty when every dependency is met.
    pub fn unmet_plugin_dependencies(&self) -> Vec<(String, Vec<String>)> {
        REQUIRED_PLUGINS
            .iter()
            .filter(|(option, _)| self.plugin_enabled(option))
            .filter_map(|(option, needs)| {
                let missing: Vec<String> = needs
                    .iter()
                    .filter(|need| !self.plugin_enabled(need))
                    .map(|need| need.to_string())
                    .collect();
                (!missing.is_empty()).then(|| (option.to_string(), missing))
            })
            .collect()
    }

    /// Whether pgAudit is enabled (`plugin_audit_enable`, on by default): the charm then sets the
    /// `pgaudit.*` parameters after creating the extensions.
    pub fn pgaudit_enabled(&self) -> bool {
        self.plugin_enabled("plugin_audit_enable")
    }
}
