//! TEMPORARY: replaced by the optim branch on merge.
use crate::autograd::{Gradients, Param, ParamId};
use crate::{Result, Tensor};
use std::collections::HashMap;

pub trait Optimizer: Send {
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()>;
    fn learning_rate(&self) -> f32;
    fn set_learning_rate(&mut self, lr: f32);
    fn name(&self) -> &'static str;
    fn state(&self, params: &[&Param]) -> Vec<(String, Tensor)>;
    fn load_state(&mut self, params: &[&Param], state: &[(String, Tensor)]) -> Result<()>;
}
pub trait LrSchedule: Send {
    fn on_epoch_end(&mut self, epoch: usize, metric: Option<f32>, opt: &mut dyn Optimizer) -> Option<f32>;
}
pub struct Sgd { lr: f32, momentum: f32, v: HashMap<ParamId, Vec<f32>> }
impl Sgd {
    pub fn new(lr: f32) -> Sgd { Sgd { lr, momentum: 0.0, v: HashMap::new() } }
    pub fn momentum(mut self, m: f32) -> Self { self.momentum = m; self }
}
impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [&mut Param], grads: &Gradients) -> Result<()> {
        for p in params.iter_mut() {
            let Some(g) = grads.get(p) else { continue };
            let v = self.v.entry(p.id()).or_insert_with(|| vec![0.0; g.numel()]);
            let (lr, mu) = (self.lr, self.momentum);
            for ((w, v), g) in p.value.data_mut().iter_mut().zip(v.iter_mut()).zip(g.data()) {
                *v = mu * *v + g;
                *w -= lr * *v;
            }
        }
        Ok(())
    }
    fn learning_rate(&self) -> f32 { self.lr }
    fn set_learning_rate(&mut self, lr: f32) { self.lr = lr }
    fn name(&self) -> &'static str { "sgd" }
    fn state(&self, _: &[&Param]) -> Vec<(String, Tensor)> { vec![] }
    fn load_state(&mut self, _: &[&Param], _: &[(String, Tensor)]) -> Result<()> { Ok(()) }
}
pub fn by_name(name: &str, lr: f32, momentum: f32, _wd: f32) -> Result<Box<dyn Optimizer>> {
    match name { "sgd" => Ok(Box::new(Sgd::new(lr).momentum(momentum))), o => Err(crate::Error::invalid("optimizer", format!("unknown '{o}'"))) }
}
pub fn schedule_from_str(s: &str) -> Result<Box<dyn LrSchedule>> { Err(crate::Error::invalid("schedule", s.to_string())) }
