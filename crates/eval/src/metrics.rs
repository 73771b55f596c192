//! The figures, from predictions. Every sum is an `f64` accumulated sequentially in row order (no parallel or
//! pairwise reduction), so the same predictions give the same bits on every run and machine; only `ln` (log
//! loss) and `sqrt` (RMSE) come from the platform, and `sqrt` is exact by IEEE 754.

use crate::report::{ClassFigures, ClassificationMetrics, RegressionMetrics};

/// Classification figures for `truth[i]` and `predicted[i]` (indices into `classes`) and, when given,
/// `probabilities` (row-major, `classes.len()` columns).
pub fn classification(
    classes: &[i64],
    truth: &[usize],
    predicted: &[usize],
    probabilities: Option<&[f32]>,
) -> ClassificationMetrics {
    let k = classes.len();
    let n = truth.len();
    let mut confusion = vec![vec![0u64; k]; k];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t][p] += 1;
    }
    let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
    let mut per_class = Vec::with_capacity(k);
    for c in 0..k {
        let tp = confusion[c][c] as f64;
        let support: u64 = confusion[c].iter().sum();
        let predicted_as: u64 = (0..k).map(|t| confusion[t][c]).sum();
        let div = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
        per_class.push(ClassFigures {
            class: classes[c],
            precision: div(tp, predicted_as as f64),
            recall: div(tp, support as f64),
            f1: div(2.0 * tp, support as f64 + predicted_as as f64),
            support,
        });
    }
    let f1_sum = per_class.iter().fold(0f64, |acc, c| acc + c.f1);
    let log_loss = probabilities.map(|p| {
        let eps = f64::EPSILON;
        let mut sum = 0f64;
        for (row, &t) in truth.iter().enumerate() {
            let v = (p[row * k + t] as f64).clamp(eps, 1.0 - eps);
            sum += -v.ln();
        }
        sum / n as f64
    });
    ClassificationMetrics {
        classes: classes.to_vec(),
        accuracy: correct as f64 / n as f64,
        f1_macro: f1_sum / k as f64,
        log_loss,
        confusion_matrix: confusion,
        per_class,
    }
}

/// Regression figures for labels `y` and predictions `yhat`.
pub fn regression(y: &[f64], yhat: &[f64]) -> RegressionMetrics {
    let n = y.len() as f64;
    let (mut se, mut ae, mut sum) = (0f64, 0f64, 0f64);
    for (&a, &b) in y.iter().zip(yhat) {
        let e = a - b;
        se += e * e;
        ae += e.abs();
        sum += a;
    }
    let mean = sum / n;
    let tot = y.iter().fold(0f64, |acc, &a| acc + (a - mean) * (a - mean));
    let r2 = if tot != 0.0 {
        1.0 - se / tot
    } else if se == 0.0 {
        1.0
    } else {
        0.0
    };
    RegressionMetrics {
        rmse: (se / n).sqrt(),
        mae: ae / n,
        r2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_classification() {
        // truth 0 0 1 1 2, predicted 0 1 1 1 0.
        let m = classification(&[0, 1, 2], &[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0], None);
        assert_eq!(m.accuracy, 0.6);
        assert_eq!(
            m.confusion_matrix,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert_eq!(m.per_class[0].precision, 0.5);
        assert_eq!(m.per_class[1].recall, 1.0);
        assert_eq!(m.per_class[2].f1, 0.0);
        assert!(m.log_loss.is_none());
    }

    #[test]
    fn log_loss_clips_zero_probabilities() {
        let m = classification(&[0, 1], &[0], &[1], Some(&[0.0, 1.0]));
        assert_eq!(m.log_loss, Some(-f64::EPSILON.ln()));
    }

    #[test]
    fn constant_labels_r2() {
        assert_eq!(regression(&[1.0, 1.0], &[1.0, 1.0]).r2, 1.0);
        assert_eq!(regression(&[1.0, 1.0], &[1.0, 2.0]).r2, 0.0);
        let m = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]);
        assert_eq!(m.mae, 1.0 / 3.0);
        assert_eq!(m.r2, 0.5);
    }
}
