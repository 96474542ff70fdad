// Microsoft's own clients (@azure/storage-queue, @azure/storage-blob, @azure/data-tables) for
// the Azure tests (AzuriteServer::client()): one call per run, the answer as one line of JSON on
// stdout. The connection string comes from AZURE_STORAGE_CONNECTION_STRING.
//
//   account-sas SERVICES VERSION   -> {"sas"}  (an account SAS for services "bqt", all
//                                                 permissions, an hour, signed version VERSION)
//   queue-send QUEUE TEXT          -> {"messageId"}
//   queue-receive QUEUE            -> {"messageId","messageText","dequeueCount"} or null
//   queue-count QUEUE              -> {"count"}   (Azure's approximate count)
//   blob-count CONTAINER           -> {"count"}
//   blob-names CONTAINER           -> {"names"}   (every blob's name, in Azure's order)
//   blob-put CONTAINER NAME TEXT   -> {}
//   blob-get CONTAINER NAME        -> {"text","contentType"}
//   table-get TABLE PK RK          -> the entity, with "etag"
//   table-row-keys TABLE PK        -> {"rowKeys"} (the partition's, in Azure's order)
//   table-upsert TABLE ENTITY_JSON -> {"etag"}
//   table-update TABLE ENTITY_JSON ETAG -> {"etag"} or {"error": status}
'use strict';

const { QueueServiceClient } = require('@azure/storage-queue');
const {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} = require('@azure/storage-blob');
const { TableClient } = require('@azure/data-tables');

const connection = process.env.AZURE_STORAGE_CONNECTION_STRING;
const [command, ...args] = process.argv.slice(2);

async function main() {
  switch (command) {
    case 'account-sas': {
      const fields = Object.fromEntries(
        connection.split(';').filter(Boolean).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
      );
      const key = new StorageSharedKeyCredential(fields.AccountName, fields.AccountKey);
      const sas = generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3600 * 1000),
          permissions: AccountSASPermissions.parse('rwdlacup'),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse(args[0]).toString(),
          version: args[1],
        },
        key,
      );
      return { sas: sas.toString() };
    }
    case 'queue-send': {
      const queue = QueueServiceClient.fromConnectionString(connection).getQueueClient(args[0]);
      const sent = await queue.sendMessage(args[1]);
      return { messageId: sent.messageId };
    }
    case 'queue-receive': {
      const queue = QueueServiceClient.fromConnectionString(connection).getQueueClient(args[0]);
      const got = await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 30 });
      if (got.receivedMessageItems.length === 0) return null;
      const m = got.receivedMessageItems[0];
      return { messageId: m.messageId, messageText: m.messageText, dequeueCount: m.dequeueCount };
    }
    case 'queue-count': {
      const queue = QueueServiceClient.fromConnectionString(connection).getQueueClient(args[0]);
      const properties = await queue.getProperties();
      return { count: properties.approximateMessagesCount };
    }
    case 'blob-count': {
      const container =
        BlobServiceClient.fromConnectionString(connection).getContainerClient(args[0]);
      let count = 0;
      for await (const blob of container.listBlobsFlat()) count += blob ? 1 : 0;
      return { count };
    }
    case 'blob-names': {
      const container =
        BlobServiceClient.fromConnectionString(connection).getContainerClient(args[0]);
      const names = [];
      for await (const blob of container.listBlobsFlat()) names.push(blob.name);
      return { names };
    }
    case 'blob-put': {
      const container =
        BlobServiceClient.fromConnectionString(connection).getContainerClient(args[0]);
      await container.getBlockBlobClient(args[1]).upload(args[2], Buffer.byteLength(args[2]), {
        blobHTTPHeaders: { blobContentType: 'text/plain' },
      });
      return {};
    }
    case 'blob-get': {
      const container =
        BlobServiceClient.fromConnectionString(connection).getContainerClient(args[0]);
      const blob = container.getBlobClient(args[1]);
      const bytes = await blob.downloadToBuffer();
      const properties = await blob.getProperties();
      return { text: bytes.toString('utf8'), contentType: properties.contentType };
    }
    case 'table-get': {
      const table = TableClient.fromConnectionString(connection, args[0], { allowInsecureConnection: true });
      return await table.getEntity(args[1], args[2]);
    }
    case 'table-row-keys': {
      const table = TableClient.fromConnectionString(connection, args[0], { allowInsecureConnection: true });
      const rowKeys = [];
      const entities = table.listEntities({
        queryOptions: { filter: `PartitionKey eq '${args[1]}'`, select: ['RowKey'] },
      });
      for await (const entity of entities) rowKeys.push(entity.rowKey);
      return { rowKeys };
    }
    case 'table-upsert': {
      const table = TableClient.fromConnectionString(connection, args[0], { allowInsecureConnection: true });
      const answer = await table.upsertEntity(JSON.parse(args[1]), 'Replace');
      return { etag: answer.etag };
    }
    case 'table-update': {
      const table = TableClient.fromConnectionString(connection, args[0], { allowInsecureConnection: true });
      try {
        const answer = await table.updateEntity(JSON.parse(args[1]), 'Replace', { etag: args[2] });
        return { etag: answer.etag };
      } catch (e) {
        return { error: e.statusCode };
      }
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
}

main().then(
  (answer) => console.log(JSON.stringify(answer === undefined ? null : answer)),
  (error) => {
    console.error(error && error.message ? error.message : error);
    process.exit(1);
  },
);
