//! Kubernetes quantities (`10G`, `4Mi`, `1.5Gi`, `1e9`) as byte counts, for the size
//! limits in a `Registry`.

/// Why a quantity is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{0:?} is not a byte quantity: use a number with an optional suffix (k, M, G, T, Ki, Mi, Gi, Ti), e.g. 10G or 4Mi"
)]
pub struct QuantityError(pub String);

/// Parses a Kubernetes quantity as a whole number of bytes (fractions round up).
pub fn parse_bytes(q: &str) -> Result<u64, QuantityError> {
    let err = || QuantityError(q.to_owned());
    let s = q.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    if number.is_empty() || number.matches('.').count() > 1 {
        return Err(err());
    }
    let multiplier: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().map_err(|_| err())?;
            10f64.powi(exp)
        }
        _ => return Err(err()),
    };
    let value: f64 = number.parse().map_err(|_| err())?;
    let bytes = (value * multiplier).ceil();
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_and_binary_suffixes() {
        assert_eq!(parse_bytes("10G"), Ok(10_000_000_000));
        assert_eq!(parse_bytes("4Mi"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5Gi"), Ok(1_610_612_736));
        assert_eq!(parse_bytes("512"), Ok(512));
        assert_eq!(parse_bytes("1e9"), Ok(1_000_000_000));
        assert_eq!(parse_bytes(" 2k "), Ok(2000));
    }

    #[test]
    fn refuses_what_is_not_a_quantity() {
        for bad in ["", "G", "10GB", "1.2.3", "-1", "ten", "5x", "1e"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }
}
