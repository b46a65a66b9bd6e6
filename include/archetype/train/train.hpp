// archetype/train/train.hpp — umbrella header of train/: loss, optimizers, schedules, IDX reader,
// datasets and batching, the trainer.
#pragma once

#include "archetype/train/dataset.hpp"
#include "archetype/train/idx.hpp"
#include "archetype/train/loss.hpp"
#include "archetype/train/optimizer.hpp"
#include "archetype/train/schedule.hpp"
#include "archetype/train/trainer.hpp"
