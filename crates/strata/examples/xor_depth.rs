//! The lectures' vanishing-gradient experiment: a deep, narrow network on XOR.
//!
//! Ten hidden layers of five units, trained for 2000 epochs on the four XOR points with
//! mean squared error. With sigmoid units everywhere the gradient shrinks by a factor of
//! at most 1/4 per layer on the way back, so the early layers barely move: the network
//! sits at the constant prediction 0.5 (accuracy 0.5, MSE 0.25). With ReLU hidden units
//! (derivative 1 where active) and a sigmoid output, the same network learns XOR.
//!
//! Run: `cargo run --release --example xor_depth`. The last line is JSON:
//! `{"sigmoid":{"accuracy":..,"loss":..},"relu":{"accuracy":..,"loss":..}}`.

use strata::prelude::*;

fn xor() -> Result<Dataset> {
    let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2])?;
    let y = Tensor::from_vec(vec![0., 1., 1., 0.], &[4, 1])?;
    Dataset::new(x, Target::Values(y))
}

fn run(hidden: Activation, seed: u64) -> Result<(f32, f32)> {
    let data = xor()?;
    let mut model = Sequential::new().seed(seed);
    for i in 0..10 {
        let layer = Dense::new(5).activation(hidden);
        model = model.add(if i == 0 { layer.input_dim(2) } else { layer });
    }
    model = model.add(Dense::new(1).activation(Sigmoid));
    model.compile(Sgd::new(0.1).momentum(0.9), Loss::Mse, &[Metric::Accuracy]);
    let history = model.fit(&data, FitOptions::epochs(2000).batch_size(4).silent())?;
    let eval = model.evaluate(&data, 4)?;
    let first = history.epochs.first().map(|e| e.loss).unwrap_or(f32::NAN);
    println!("{hidden:>8}: loss {first:.4} -> {:.4}, accuracy {:.2}", eval.loss, eval.accuracy.unwrap_or(0.0));
    Ok((eval.accuracy.unwrap_or(0.0), eval.loss))
}

fn main() -> Result<()> {
    println!("10 hidden layers x 5 units, XOR, MSE, SGD lr 0.1 momentum 0.9, 2000 epochs");
    let (sig_acc, sig_loss) = run(Sigmoid, 1)?;
    let (relu_acc, relu_loss) = run(Relu, 1)?;
    println!(
        "{}",
        serde_json::json!({
            "sigmoid": {"accuracy": sig_acc, "loss": sig_loss},
            "relu": {"accuracy": relu_acc, "loss": relu_loss},
        })
    );
    Ok(())
}
