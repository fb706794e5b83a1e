/* gradflow.h: the umbrella header. Include this, link gradflow::gradflow. */
#ifndef GRADFLOW_H
#define GRADFLOW_H

#include "gradflow/common.h"
#include "gradflow/atomic.h"
#include "gradflow/rng.h"
#include "gradflow/tensor.h"
#include "gradflow/act.h"
#include "gradflow/layer.h"
#include "gradflow/registry.h"
#include "gradflow/loss.h"
#include "gradflow/init.h"
#include "gradflow/optim.h"
#include "gradflow/clip.h"
#include "gradflow/telemetry.h"
#include "gradflow/net.h"
#include "gradflow/budget.h"
#include "gradflow/gradcheck.h"
#include "gradflow/norm.h"
#include "gradflow/residual.h"
#include "gradflow/rnn.h"
#include "gradflow/theory.h"
#include "gradflow/jacobian.h"
#include "gradflow/model.h"
#include "gradflow/report.h"
#include "gradflow/data.h"
#include "gradflow/threads.h"

#endif
