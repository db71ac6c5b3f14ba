/**
 * The few TensorFlow protobuf messages tfserve reads or writes, declared by field number (protocol
 * facts from tensorflow/core/protobuf/{meta_graph,config}.proto and framework/tensor_shape.proto).
 * Only the fields we use are declared; protobufjs skips the rest on decode (notably the large
 * MetaGraphDef.graph_def, field 2).
 */
import protobuf from 'protobufjs';

// A variable, not an inline literal: map fields carry `keyType`, which IField's typing omits.
const descriptor = {
  nested: {
    SavedModel: {
      fields: {
        metaGraphs: { rule: 'repeated', type: 'MetaGraphDef', id: 2 },
      },
    },
    MetaGraphDef: {
      fields: {
        metaInfoDef: { type: 'MetaInfoDef', id: 1 },
        signatureDef: { keyType: 'string', type: 'SignatureDef', id: 5 },
      },
    },
    MetaInfoDef: {
      fields: {
        tags: { rule: 'repeated', type: 'string', id: 4 },
        tensorflowVersion: { type: 'string', id: 5 },
      },
    },
    SignatureDef: {
      fields: {
        inputs: { keyType: 'string', type: 'TensorInfo', id: 1 },
        outputs: { keyType: 'string', type: 'TensorInfo', id: 2 },
        methodName: { type: 'string', id: 3 },
        defaults: { keyType: 'string', type: 'TensorProto', id: 4 },
      },
    },
    TensorProto: {
      fields: {
        dtype: { type: 'int32', id: 1 },
        tensorShape: { type: 'TensorShapeProto', id: 2 },
        tensorContent: { type: 'bytes', id: 4 },
        floatVal: { rule: 'repeated', type: 'float', id: 5, options: { packed: true } },
        doubleVal: { rule: 'repeated', type: 'double', id: 6, options: { packed: true } },
        intVal: { rule: 'repeated', type: 'int32', id: 7, options: { packed: true } },
        stringVal: { rule: 'repeated', type: 'bytes', id: 8 },
        int64Val: { rule: 'repeated', type: 'int64', id: 10, options: { packed: true } },
        boolVal: { rule: 'repeated', type: 'bool', id: 11, options: { packed: true } },
        halfVal: { rule: 'repeated', type: 'int32', id: 13, options: { packed: true } },
        uint32Val: { rule: 'repeated', type: 'uint32', id: 16, options: { packed: true } },
        uint64Val: { rule: 'repeated', type: 'uint64', id: 17, options: { packed: true } },
      },
    },
    TensorInfo: {
      oneofs: { encoding: { oneof: ['name', 'cooSparse', 'compositeTensor'] } },
      fields: {
        name: { type: 'string', id: 1 },
        cooSparse: { type: 'bytes', id: 4 },
        compositeTensor: { type: 'bytes', id: 5 },
        dtype: { type: 'int32', id: 2 },
        tensorShape: { type: 'TensorShapeProto', id: 3 },
      },
    },
    TensorShapeProto: {
      fields: {
        dim: { rule: 'repeated', type: 'Dim', id: 2 },
        unknownRank: { type: 'bool', id: 3 },
      },
      nested: {
        Dim: {
          fields: {
            size: { type: 'int64', id: 1 },
            name: { type: 'string', id: 2 },
          },
        },
      },
    },
    ConfigProto: {
      fields: {
        deviceCount: { keyType: 'string', type: 'int32', id: 1 },
        intraOpParallelismThreads: { type: 'int32', id: 2 },
        interOpParallelismThreads: { type: 'int32', id: 5 },
        gpuOptions: { type: 'GPUOptions', id: 6 },
        allowSoftPlacement: { type: 'bool', id: 7 },
      },
    },
    GPUOptions: {
      fields: {
        perProcessGpuMemoryFraction: { type: 'double', id: 1 },
        allowGrowth: { type: 'bool', id: 4 },
        visibleDeviceList: { type: 'string', id: 5 },
      },
    },
    Example: {
      fields: { features: { type: 'Features', id: 1 } },
    },
    Features: {
      fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } },
    },
    Feature: {
      oneofs: { kind: { oneof: ['bytesList', 'floatList', 'int64List'] } },
      fields: {
        bytesList: { type: 'BytesList', id: 1 },
        floatList: { type: 'FloatList', id: 2 },
        int64List: { type: 'Int64List', id: 3 },
      },
    },
    BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
    FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } } } },
    Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } } },
    RunOptions: {
      fields: {
        // TraceLevel: 0 NO_TRACE, 1 SOFTWARE_TRACE (step stats: the device of every node).
        traceLevel: { type: 'int32', id: 1 },
        timeoutInMs: { type: 'int64', id: 2 },
        interOpThreadPool: { type: 'int32', id: 3 },
      },
    },
    RunMetadata: { fields: { stepStats: { type: 'StepStats', id: 1 } } },
    StepStats: { fields: { devStats: { rule: 'repeated', type: 'DeviceStepStats', id: 1 } } },
    DeviceStepStats: {
      fields: {
        device: { type: 'string', id: 1 },
        nodeStats: { rule: 'repeated', type: 'NodeExecStats', id: 2 },
      },
    },
    NodeExecStats: { fields: { nodeName: { type: 'string', id: 1 } } },
    // framework/kernel_def.proto: what TF_GetRegisteredKernelsForOp returns.
    KernelList: { fields: { kernel: { rule: 'repeated', type: 'KernelDef', id: 1 } } },
    KernelDef: {
      fields: {
        op: { type: 'string', id: 1 },
        deviceType: { type: 'string', id: 2 },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

export const SavedModelProto = root.lookupType('SavedModel');
export const MetaGraphDef = root.lookupType('MetaGraphDef');
export const ConfigProto = root.lookupType('ConfigProto');
export const RunOptions = root.lookupType('RunOptions');
export const RunMetadata = root.lookupType('RunMetadata');
export const KernelList = root.lookupType('KernelList');
/** tf.train.Example, which classify and regress signatures take serialized. */
export const Example = root.lookupType('Example');
