//! `cargo xtask`: command-line entry point of the project tasks (see the `xtask` library).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xtask::pack::{PackOptions, Profile, pack};

const USAGE: &str = "\
usage: cargo xtask pack [--out DIR] [--profile release|dev] [--binary PATH] [--arch ARCH]

  pack      build the charm binary and write <name>_<base>-<arch>.charm
  --out     directory for the .charm file (default: the project directory)
  --profile cargo profile of the binary (default: release)
  --binary  use this prebuilt binary instead of building one
  --arch    Juju architecture of the binary (default: the host's)";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("pack") => {
            let options = parse_pack_args(&args[1..])?;
            let charm = pack(&options)?;
            println!("{}", charm.display());
            Ok(())
        }
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

/// Turns `pack`'s arguments into options, starting from the defaults.
fn parse_pack_args(args: &[String]) -> Result<PackOptions> {
    let project_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask is not inside the workspace")?
        .to_path_buf();
    let mut options = PackOptions::new(project_dir);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--out" => options.out_dir = PathBuf::from(value()?),
            "--profile" => options.profile = Profile::parse(value()?)?,
            "--binary" => options.binary = Some(PathBuf::from(value()?)),
            "--arch" => options.architecture = value()?.clone(),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(options)
}
