//! `set-tls-private-key [private-key=<PEM or base64 PEM>]`: give this unit a new private key (or
//! generate one) and request a certificate for it. The certificate in use, and its key, keep
//! being served until the provider's certificate for the new key passes every check.

use anyhow::Result;
use juju::{Context, HookTools, Secret};

use super::param;
use crate::charm::{self, Overrides, Paths};
use crate::tls::keys::PrivateKey;

/// `set-tls-private-key`.
pub async fn set_tls_private_key(ctx: &Context, tools: &HookTools, paths: &Paths) -> Result<()> {
    let params = tools.action_get()?;
    let key = match param(&params, "private-key").map(Secret::new) {
        Some(text) => match PrivateKey::parse(text.expose()) {
            Ok(key) => key,
            Err(e) => {
                tools.action_fail(&format!("Invalid private key: {e}"))?;
                return Ok(());
            }
        },
        None => PrivateKey::generate(),
    };
    tools.action_log("storing the private key and requesting a certificate for it")?;
    let overrides = Overrides {
        tls_key: Some(key),
        ..Overrides::default()
    };
    if let Err(e) = charm::reconcile(ctx, tools, paths, overrides).await {
        tracing::error!("applying the new private key: {e:#}");
        tools.action_fail("Failed to store the private key; nothing was changed. See the logs.")?;
    }
    Ok(())
}
