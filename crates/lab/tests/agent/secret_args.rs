//! Secret tools' argument errors, as Juju words them.

use crate::fixture::{call, ctx, err, model, ok, rel_ctx};

#[test]
fn argument_errors_are_juju_texts() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    let e = |m: &mut _, c: &mut _, args: &[&str], tool: &str| err(call(m, c, tool, args));
    assert_eq!(
        e(&mut m, &mut c, &[], "secret-add"),
        (2, "ERROR missing secret value or filename\n".into())
    );
    assert_eq!(
        e(&mut m, &mut c, &["Token=1"], "secret-add"),
        (2, "ERROR key \"Token\" not valid\n".into())
    );
    assert_eq!(
        e(&mut m, &mut c, &["ab=1"], "secret-add"),
        (2, "ERROR key \"ab\" not valid\n".into())
    );
    assert_eq!(
        e(&mut m, &mut c, &["token"], "secret-add"),
        (2, "ERROR key value \"token\" not valid\n".into())
    );
    assert_eq!(
        e(
            &mut m,
            &mut c,
            &["--rotate", "often", "token=1"],
            "secret-add"
        ),
        (2, "ERROR rotate policy \"often\" not valid\n".into())
    );
    assert_eq!(
        e(
            &mut m,
            &mut c,
            &["--owner", "model", "token=1"],
            "secret-add"
        ),
        (2, "ERROR secret owner \"model\" not valid\n".into())
    );
    assert_eq!(
        e(
            &mut m,
            &mut c,
            &["--expire", "soon", "token=1"],
            "secret-add"
        ),
        (
            2,
            "ERROR expire time or duration \"soon\" not valid\n".into()
        )
    );
    assert_eq!(
        e(&mut m, &mut c, &[], "secret-get"),
        (2, "ERROR require either a secret URI or label\n".into())
    );
    assert_eq!(
        e(&mut m, &mut c, &["bogus"], "secret-get"),
        (2, "ERROR secret URI \"bogus\" not valid\n".into())
    );
    assert_eq!(
        e(&mut m, &mut c, &[], "secret-set"),
        (2, "ERROR missing secret URI\n".into())
    );
    assert_eq!(
        e(
            &mut m,
            &mut c,
            &["--label", "x", "cuh0n7lmp25c7bgqtgsg"],
            "secret-info-get"
        ),
        (
            2,
            "ERROR specify either a secret URI or label but not both\n".into()
        )
    );
    assert_eq!(
        e(&mut m, &mut c, &["cuh0n7lmp25c7bgqtgsg"], "secret-grant"),
        (2, "ERROR no relation id specified\n".into())
    );
    assert_eq!(
        e(
            &mut m,
            &mut c,
            &["-r", "2", "--unit", "pg/1", "cuh0n7lmp25c7bgqtgsg"],
            "secret-grant"
        ),
        (
            2,
            "ERROR cannot specify unit \"pg/1\" in relation to application \"app\"\n".into()
        )
    );
    assert_eq!(
        e(&mut m, &mut c, &["cuh0n7lmp25c7bgqtgsg"], "secret-revoke"),
        (2, "ERROR missing relation or application or unit\n".into())
    );
    assert_eq!(
        e(&mut m, &mut c, &["cuh0n7lmp25c7bgqtgsg", "--revision", "x"], "secret-remove"),
        (2, "ERROR invalid value \"x\" for option --revision: strconv.ParseInt: parsing \"x\": invalid syntax\n".into())
    );
    assert_eq!(
        e(&mut m, &mut c, &["cuh0n7lmp25c7bgqtgsg"], "secret-get"),
        (
            1,
            "ERROR secret \"cuh0n7lmp25c7bgqtgsg\" not found\n".into()
        )
    );
    // In a relation hook the relation defaults to the hook's, so --app is refused.
    let mut h = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    assert_eq!(
        err(call(
            &mut m,
            &mut h,
            "secret-revoke",
            &["cuh0n7lmp25c7bgqtgsg", "--app", "app"]
        )),
        (2, "ERROR do not specify both relation and app\n".into())
    );
    // No secrets: Go prints a nil list.
    assert_eq!(
        ok(call(&mut m, &mut c, "secret-ids", &["--format=json"])),
        "null\n"
    );
    assert_eq!(ok(call(&mut m, &mut c, "secret-ids", &[])), "");
}
