//! Counts in words: "1 contact", "2 contacts", "0 tasks".

/// `n` and `noun`, the noun plural unless `n` is 1 (English: add "s").
pub(crate) fn counted(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular() {
        assert_eq!(counted(1, "contact"), "1 contact");
        assert_eq!(counted(0, "contact"), "0 contacts");
        assert_eq!(counted(12, "task"), "12 tasks");
    }
}
