//! Users and groups from `/etc/passwd` and `/etc/group` (read as Go's pure resolver does, so
//! the double sees exactly the accounts of the filesystem it runs in), and Pebble's rules for
//! turning `user`/`user-id`/`group`/`group-id` into a uid and gid.

use std::fs;

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
}

/// Parses `/etc/passwd` text (malformed lines are skipped).
pub fn parse_passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 7 {
                return None;
            }
            Some(User {
                name: fields[0].to_owned(),
                uid: fields[2].parse().ok()?,
                gid: fields[3].parse().ok()?,
                home: fields[5].to_owned(),
            })
        })
        .collect()
}

/// Parses `/etc/group` text (malformed lines are skipped).
pub fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 3 {
                return None;
            }
            Some(Group {
                name: fields[0].to_owned(),
                gid: fields[2].parse().ok()?,
            })
        })
        .collect()
}

fn users() -> Vec<User> {
    parse_passwd(&fs::read_to_string(PASSWD).unwrap_or_default())
}

fn groups() -> Vec<Group> {
    parse_group(&fs::read_to_string(GROUP).unwrap_or_default())
}

/// The user called `name`.
pub fn user_by_name(name: &str) -> Option<User> {
    users().into_iter().find(|u| u.name == name)
}

/// The user with uid `uid`.
pub fn user_by_id(uid: u32) -> Option<User> {
    users().into_iter().find(|u| u.uid == uid)
}

/// The group called `name`.
pub fn group_by_name(name: &str) -> Option<Group> {
    groups().into_iter().find(|g| g.name == name)
}

/// The group with gid `gid`.
pub fn group_by_id(gid: u32) -> Option<Group> {
    groups().into_iter().find(|g| g.gid == gid)
}

/// Who to run as or own a file as, as the API and layers say it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `user-id`.
    pub user_id: Option<u32>,
    /// `user`.
    pub user: String,
    /// `group-id`.
    pub group_id: Option<u32>,
    /// `group`.
    pub group: String,
}

impl Identity {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.user_id.is_none()
            && self.user.is_empty()
            && self.group_id.is_none()
            && self.group.is_empty()
    }
}

/// Pebble's `NormalizeUidGid`: `None` when nothing is set, else the uid and gid to use. A name
/// and an id that disagree, an unknown name, or a group without a user are errors with Go's
/// wording (`user: unknown user x`, `must specify user, not just group`).
pub fn normalize(id: &Identity) -> Result<Option<(u32, u32)>, String> {
    if id.is_empty() {
        return Ok(None);
    }
    let mut uid = id.user_id;
    let mut gid = id.group_id;
    if !id.user.is_empty() {
        let user =
            user_by_name(&id.user).ok_or_else(|| format!("user: unknown user {}", id.user))?;
        if let Some(want) = uid
            && want != user.uid
        {
            return Err(format!(
                "user {:?} UID ({}) does not match user-id ({want})",
                id.user, user.uid
            ));
        }
        uid = Some(user.uid);
    }
    if !id.group.is_empty() {
        let group =
            group_by_name(&id.group).ok_or_else(|| format!("user: unknown group {}", id.group))?;
        if let Some(want) = gid
            && want != group.gid
        {
            return Err(format!(
                "group {:?} GID ({}) does not match group-id ({want})",
                id.group, group.gid
            ));
        }
        gid = Some(group.gid);
    }
    match (uid, gid) {
        (None, Some(_)) | (None, None) => Err("must specify user, not just group".to_owned()),
        (Some(uid), Some(gid)) => Ok(Some((uid, gid))),
        (Some(uid), None) => {
            let user = user_by_id(uid).ok_or_else(|| format!("user: unknown userid {uid}"))?;
            Ok(Some((uid, user.gid)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_account_files() {
        let users = parse_passwd("root:x:0:0:root:/root:/bin/bash\nbad line\n#c\n");
        assert_eq!(
            users,
            vec![User {
                name: "root".into(),
                uid: 0,
                gid: 0,
                home: "/root".into()
            }]
        );
        let groups = parse_group("root:x:0:\nadm:x:4:syslog\n");
        assert_eq!(groups[1].gid, 4);
    }

    #[test]
    fn normalize_rules() {
        assert_eq!(normalize(&Identity::default()), Ok(None));
        let only_group = Identity {
            group: "root".into(),
            ..Identity::default()
        };
        assert_eq!(
            normalize(&only_group),
            Err("must specify user, not just group".to_owned())
        );
        let root = Identity {
            user: "root".into(),
            ..Identity::default()
        };
        assert_eq!(normalize(&root), Ok(Some((0, 0))));
        let mismatch = Identity {
            user: "root".into(),
            user_id: Some(5),
            ..Identity::default()
        };
        assert_eq!(
            normalize(&mismatch),
            Err("user \"root\" UID (0) does not match user-id (5)".to_owned())
        );
        let unknown = Identity {
            user: "no-such-user-here".into(),
            ..Identity::default()
        };
        assert_eq!(
            normalize(&unknown),
            Err("user: unknown user no-such-user-here".to_owned())
        );
    }
}
