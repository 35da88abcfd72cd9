//! Integer ids for packages and versions, as GitHub's API has them: unique in the
//! registry, never reused, below 2^53 (JavaScript clients read them as numbers), and
//! the same from every replica. Each id is claimed with a create-if-absent write, so two
//! replicas racing never hand out one id twice; a shared hint says where to start.

use bytes::Bytes;

use crate::content::Result;
use crate::content::keys;
use crate::storage::Storage;

/// The largest id handed out: JavaScript's `Number.MAX_SAFE_INTEGER`.
pub const MAX_ID: u64 = (1 << 53) - 1;

/// Claims a fresh id for `owner` (what the claim records: a package or a version).
pub async fn allocate(storage: &dyn Storage, owner: &str) -> Result<u64> {
    let hint = storage
        .get(keys::next_id())
        .await?
        .and_then(|b| std::str::from_utf8(&b).ok()?.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_ID);
    let mut id = hint;
    while !storage
        .put_if_absent(&keys::id_claim(id), Bytes::from(owner.to_owned()))
        .await?
    {
        // Taken by a racing replica or a stale hint: the next one. Claims are dense, so
        // this walks at most as far as the hint lags.
        id += 1;
        if id > MAX_ID {
            return Err(crate::content::Error::SizeInvalid(
                "this registry has handed out every id".into(),
            ));
        }
    }
    // Only a hint: a racing writer may set it lower, which costs the next claim a step.
    storage
        .put(keys::next_id(), Bytes::from((id + 1).to_string()))
        .await?;
    Ok(id)
}
